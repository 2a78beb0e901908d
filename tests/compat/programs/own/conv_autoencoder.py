"""A convolutional autoencoder on MNIST, written for glassgrad's compatibility suite.

Strided Conv2d encoder down to a small code, ConvTranspose2d decoder (stride 2 with
output_padding) back to 28x28 through a Sigmoid; Adam under StepLR, binary cross-entropy or MSE.
"""

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

parser = argparse.ArgumentParser(description="MNIST conv autoencoder")
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--lr", type=float, default=2e-3)
parser.add_argument("--code", type=int, default=8)
parser.add_argument("--loss", choices=["bce", "mse"], default="bce")
parser.add_argument("--seed", type=int, default=7)
args = parser.parse_args()

torch.manual_seed(args.seed)

train_set = datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())
test_set = datasets.MNIST("data", train=False, download=True, transform=transforms.ToTensor())
train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
test_loader = DataLoader(test_set, batch_size=args.batch_size)


class AutoEncoder(nn.Module):
    def __init__(self, code=8):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1),  # 14x14
            nn.ReLU(True),
            nn.Conv2d(8, 16, 3, stride=2, padding=1),  # 7x7
            nn.ReLU(True),
            nn.Conv2d(16, code, 7),  # 1x1
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(code, 16, 7),  # 7x7
            nn.ReLU(True),
            nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1),  # 14x14
            nn.ReLU(True),
            nn.ConvTranspose2d(8, 1, 3, stride=2, padding=1, output_padding=1),  # 28x28
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.decoder(self.encoder(x))


model = AutoEncoder(args.code)
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
criterion = nn.MSELoss() if args.loss == "mse" else None


def reconstruction_loss(recon, x):
    if criterion is not None:
        return criterion(recon, x)
    return F.binary_cross_entropy(recon, x)


for epoch in range(1, args.epochs + 1):
    model.train()
    total = 0.0
    for x, _ in train_loader:
        recon = model(x)
        loss = reconstruction_loss(recon, x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * x.size(0)
    scheduler.step()
    model.eval()
    test_total = 0.0
    with torch.no_grad():
        for x, _ in test_loader:
            test_total += reconstruction_loss(model(x), x).item() * x.size(0)
    print(
        f"epoch {epoch} lr {scheduler.get_last_lr()[0]:.5f} "
        f"train loss {total / len(train_set):.6f} test loss {test_total / len(test_set):.6f}"
    )

with torch.no_grad():
    x, _ = next(iter(test_loader))
    codes = model.encoder(x)
    recon = model.decoder(codes)
print(f"code shape {tuple(codes.shape)} recon shape {tuple(recon.shape)}")
print(f"recon mean loss {recon.mean().item():.6f} code norm loss {codes.norm().item():.6f}")
