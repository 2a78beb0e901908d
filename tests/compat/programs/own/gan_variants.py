"""Three GAN flavours on MNIST with small MLPs, written in the older Variable/Tensor style.

--kind gan      plain GAN, BCE on sigmoid outputs
--kind wgan_gp  Wasserstein GAN with gradient penalty, critic trained n_critic times per G step
--kind cgan     conditional GAN (label embedding concatenated to the input), least-squares loss
"""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torchvision.transforms as transforms
from torch.autograd import Variable
from torchvision import datasets

parser = argparse.ArgumentParser()
parser.add_argument("--kind", choices=["gan", "wgan_gp", "cgan"], default="gan")
parser.add_argument("--n_epochs", type=int, default=1)
parser.add_argument("--batch_size", type=int, default=32)
parser.add_argument("--lr", type=float, default=0.0002)
parser.add_argument("--b1", type=float, default=0.5)
parser.add_argument("--b2", type=float, default=0.999)
parser.add_argument("--latent_dim", type=int, default=16)
parser.add_argument("--hidden", type=int, default=64)
parser.add_argument("--img_size", type=int, default=28)
parser.add_argument("--n_classes", type=int, default=10)
parser.add_argument("--n_critic", type=int, default=2)
parser.add_argument("--lambda_gp", type=float, default=10.0)
parser.add_argument("--log_every", type=int, default=1)
parser.add_argument("--seed", type=int, default=0)
opt = parser.parse_args()
print(opt)

torch.manual_seed(opt.seed)
np.random.seed(opt.seed)

img_shape = (1, opt.img_size, opt.img_size)
img_numel = int(np.prod(img_shape))
cuda = True if torch.cuda.is_available() else False
conditional = opt.kind == "cgan"


def block(in_feat, out_feat, normalize=True):
    layers = [nn.Linear(in_feat, out_feat)]
    if normalize:
        layers.append(nn.BatchNorm1d(out_feat, 0.8))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return layers


class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()
        in_dim = opt.latent_dim
        if conditional:
            self.label_emb = nn.Embedding(opt.n_classes, opt.n_classes)
            in_dim += opt.n_classes
        self.model = nn.Sequential(
            *block(in_dim, opt.hidden, normalize=False),
            *block(opt.hidden, opt.hidden * 2),
            nn.Linear(opt.hidden * 2, img_numel),
            nn.Tanh(),
        )

    def forward(self, z, labels=None):
        if conditional:
            z = torch.cat((self.label_emb(labels), z), -1)
        img = self.model(z)
        return img.view(img.size(0), *img_shape)


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()
        in_dim = img_numel
        if conditional:
            self.label_embedding = nn.Embedding(opt.n_classes, opt.n_classes)
            in_dim += opt.n_classes
        layers = [
            nn.Linear(in_dim, opt.hidden * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(opt.hidden * 2, opt.hidden),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(opt.hidden, 1),
        ]
        if opt.kind == "gan":
            layers.append(nn.Sigmoid())
        self.model = nn.Sequential(*layers)

    def forward(self, img, labels=None):
        flat = img.view(img.size(0), -1)
        if conditional:
            flat = torch.cat((flat, self.label_embedding(labels)), -1)
        return self.model(flat)


generator = Generator()
discriminator = Discriminator()

if opt.kind == "gan":
    adversarial_loss = torch.nn.BCELoss()
elif opt.kind == "cgan":
    adversarial_loss = torch.nn.MSELoss()
else:
    adversarial_loss = None

if cuda:
    generator.cuda()
    discriminator.cuda()
    if adversarial_loss is not None:
        adversarial_loss.cuda()

dataloader = torch.utils.data.DataLoader(
    datasets.MNIST(
        "../../data/mnist",
        train=True,
        download=True,
        transform=transforms.Compose(
            [transforms.Resize(opt.img_size), transforms.ToTensor(), transforms.Normalize([0.5], [0.5])]
        ),
    ),
    batch_size=opt.batch_size,
    shuffle=True,
)

optimizer_G = torch.optim.Adam(generator.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))
optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=opt.lr, betas=(opt.b1, opt.b2))

Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor
LongTensor = torch.cuda.LongTensor if cuda else torch.LongTensor


def compute_gradient_penalty(D, real_samples, fake_samples):
    """Penalty on the critic's gradient norm at random points between real and fake."""
    alpha = Tensor(np.random.random((real_samples.size(0), 1, 1, 1)))
    interpolates = (alpha * real_samples + ((1 - alpha) * fake_samples)).requires_grad_(True)
    d_interpolates = D(interpolates)
    fake = Variable(Tensor(real_samples.shape[0], 1).fill_(1.0), requires_grad=False)
    gradients = torch.autograd.grad(
        outputs=d_interpolates,
        inputs=interpolates,
        grad_outputs=fake,
        create_graph=True,
        retain_graph=True,
        only_inputs=True,
    )[0]
    gradients = gradients.view(gradients.size(0), -1)
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean()


batches_done = 0
for epoch in range(opt.n_epochs):
    for i, (imgs, labels) in enumerate(dataloader):
        n = imgs.shape[0]
        valid = Variable(Tensor(n, 1).fill_(1.0), requires_grad=False)
        fake = Variable(Tensor(n, 1).fill_(0.0), requires_grad=False)
        real_imgs = Variable(imgs.type(Tensor))
        labels = Variable(labels.type(LongTensor))

        z = Variable(Tensor(np.random.normal(0, 1, (n, opt.latent_dim))))

        if opt.kind == "wgan_gp":
            # ---- critic ----
            optimizer_D.zero_grad()
            fake_imgs = generator(z)
            real_validity = discriminator(real_imgs)
            fake_validity = discriminator(fake_imgs.detach())
            gradient_penalty = compute_gradient_penalty(discriminator, real_imgs.data, fake_imgs.data)
            d_loss = -torch.mean(real_validity) + torch.mean(fake_validity) + opt.lambda_gp * gradient_penalty
            d_loss.backward()
            optimizer_D.step()

            optimizer_G.zero_grad()
            if i % opt.n_critic == 0:
                # ---- generator ----
                fake_imgs = generator(z)
                g_loss = -torch.mean(discriminator(fake_imgs))
                g_loss.backward()
                optimizer_G.step()
                if batches_done % opt.log_every == 0:
                    print(
                        "epoch %d batch %d/%d d_loss %.6f g_loss %.6f gp %.6f"
                        % (epoch, i, len(dataloader), d_loss.item(), g_loss.item(), gradient_penalty.item())
                    )
                batches_done += opt.n_critic
            continue

        # ---- generator ----
        optimizer_G.zero_grad()
        if conditional:
            gen_labels = Variable(LongTensor(np.random.randint(0, opt.n_classes, n)))
            gen_imgs = generator(z, gen_labels)
            g_loss = adversarial_loss(discriminator(gen_imgs, gen_labels), valid)
        else:
            gen_imgs = generator(z)
            g_loss = adversarial_loss(discriminator(gen_imgs), valid)
        g_loss.backward()
        optimizer_G.step()

        # ---- discriminator ----
        optimizer_D.zero_grad()
        if conditional:
            real_loss = adversarial_loss(discriminator(real_imgs, labels), valid)
            fake_loss = adversarial_loss(discriminator(gen_imgs.detach(), gen_labels), fake)
        else:
            real_loss = adversarial_loss(discriminator(real_imgs), valid)
            fake_loss = adversarial_loss(discriminator(gen_imgs.detach()), fake)
        d_loss = (real_loss + fake_loss) / 2
        d_loss.backward()
        optimizer_D.step()

        if batches_done % opt.log_every == 0:
            print(
                "epoch %d batch %d/%d d_loss %.6f g_loss %.6f"
                % (epoch, i, len(dataloader), d_loss.item(), g_loss.item())
            )
        batches_done += 1

with torch.no_grad():
    z = Variable(Tensor(np.random.normal(0, 1, (4, opt.latent_dim))))
    generator.eval()
    if conditional:
        sample = generator(z, Variable(LongTensor(np.arange(4))))
    else:
        sample = generator(z)
    print("sample mean %.6f std %.6f" % (sample.mean().item(), sample.std().item()))
