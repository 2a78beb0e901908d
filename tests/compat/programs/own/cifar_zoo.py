"""Small CIFAR-10 architectures in the style of the popular CIFAR training repositories, written
for glassgrad's compatibility suite.

One script, ``--arch`` picks the network: pre-activation residual blocks, inverted residuals
with depthwise convolutions (MobileNetV2), channel split and shuffle (ShuffleNetV2), dense
concatenation (DenseNet), inception branches with squeeze-and-excitation and swish, and dual
path blocks (DPN). The loop is the usual one: SGD with momentum and weight decay under cosine
annealing, accuracy from ``outputs.max(1)``, evaluation under ``no_grad``, a checkpoint dict saved
when accuracy improves and resumed into a fresh model, and finally every Conv/BatchNorm pair
folded for inference with ``nn.utils.fuse_conv_bn_eval``.
"""

import argparse
import itertools
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

parser = argparse.ArgumentParser(description="CIFAR-10 architecture zoo")
parser.add_argument("--arch", default="preact")
parser.add_argument("--lr", default=0.01, type=float)
parser.add_argument("--epochs", default=2, type=int)
parser.add_argument("--batch-size", default=16, type=int)
parser.add_argument("--train-size", default=64, type=int)
parser.add_argument("--width", default=8, type=int)
args = parser.parse_args()

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"

transform = transforms.Compose(
    [transforms.ToTensor(), transforms.Normalize((0.4914, 0.4822, 0.4465), (0.247, 0.243, 0.261))]
)
trainset = datasets.CIFAR10(root="./data", train=True, download=True, transform=transform)
testset = datasets.CIFAR10(root="./data", train=False, download=True, transform=transform)
trainloader = DataLoader(
    Subset(trainset, range(args.train_size)), batch_size=args.batch_size, shuffle=True
)
testloader = DataLoader(Subset(testset, range(32)), batch_size=32, shuffle=False)


# ---- building blocks -----------------------------------------------------------------------
def conv_bn(cin, cout, kernel_size=3, stride=1, groups=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel_size, stride, kernel_size // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    )


class PreActBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False))

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if hasattr(self, "shortcut") else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, expansion, stride):
        super().__init__()
        mid = cin * expansion
        self.use_res = stride == 1 and cin == cout
        self.expand = conv_bn(cin, mid, 1)
        self.depthwise = conv_bn(mid, mid, 3, stride, groups=mid)
        self.project = conv_bn(mid, cout, 1)

    def forward(self, x):
        out = F.relu6(self.expand(x))
        out = F.relu6(self.depthwise(out))
        out = self.project(out)
        return x + out if self.use_res else out


def channel_shuffle(x, groups):
    n, c, h, w = x.size()
    return x.view(n, groups, c // groups, h, w).permute(0, 2, 1, 3, 4).reshape(n, c, h, w)


class ShuffleBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        half = channels // 2
        self.branch = nn.Sequential(
            conv_bn(half, half, 1),
            nn.ReLU(inplace=True),
            conv_bn(half, half, 3, groups=half),
            conv_bn(half, half, 1),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        left, right = x.chunk(2, dim=1)
        out = torch.cat([left, self.branch(right)], 1)
        return channel_shuffle(out, 2)


class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, 4 * growth, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * growth)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return torch.cat([out, x], 1)


def swish(x):
    return x * x.sigmoid()


class SqueezeExcite(nn.Module):
    def __init__(self, channels, reduced):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, reduced, 1)
        self.fc2 = nn.Conv2d(reduced, channels, 1)

    def forward(self, x):
        w = F.adaptive_avg_pool2d(x, (1, 1))
        w = self.fc2(swish(self.fc1(w))).sigmoid()
        return x * w


class Inception(nn.Module):
    def __init__(self, cin, c1, c3, c5, cp):
        super().__init__()
        self.b1 = nn.Sequential(conv_bn(cin, c1, 1), nn.ReLU(True))
        self.b2 = nn.Sequential(conv_bn(cin, c3, 1), nn.ReLU(True), conv_bn(c3, c3), nn.ReLU(True))
        self.b3 = nn.Sequential(
            conv_bn(cin, c5, 1), nn.ReLU(True), conv_bn(c5, c5), nn.ReLU(True), conv_bn(c5, c5)
        )
        self.b4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), conv_bn(cin, cp, 1))
        self.se = SqueezeExcite(c1 + c3 + c5 + cp, 4)

    def forward(self, x):
        out = torch.cat([self.b1(x), self.b2(x), F.relu(self.b3(x)), self.b4(x)], 1)
        return swish(self.se(out))


class DualPath(nn.Module):
    def __init__(self, cin, mid, out_planes, dense_depth, first):
        super().__init__()
        self.out_planes = out_planes
        self.body = nn.Sequential(
            conv_bn(cin, mid, 1),
            nn.ReLU(),
            conv_bn(mid, mid, 3, groups=2),
            nn.ReLU(),
            conv_bn(mid, out_planes + dense_depth, 1),
        )
        self.shortcut = conv_bn(cin, out_planes + dense_depth, 1) if first else None

    def forward(self, x):
        out = self.body(x)
        x = self.shortcut(x) if self.shortcut is not None else x
        d = self.out_planes
        out = torch.cat([x[:, :d, :, :] + out[:, :d, :, :], x[:, d:, :, :], out[:, d:, :, :]], 1)
        return F.relu(out)


# ---- networks ------------------------------------------------------------------------------
class Net(nn.Module):
    def __init__(self, arch, w, num_classes=10):
        super().__init__()
        self.stem = conv_bn(3, w)
        if arch == "preact":
            body = [PreActBlock(w, w), PreActBlock(w, 2 * w, 2), PreActBlock(2 * w, 4 * w, 2)]
            self.post = nn.BatchNorm2d(4 * w)
            features = 4 * w
        elif arch == "mobile":
            body = [InvertedResidual(w, w, 1, 1), InvertedResidual(w, 2 * w, 4, 2)]
            body += [InvertedResidual(2 * w, 2 * w, 4, 1), InvertedResidual(2 * w, 4 * w, 4, 2)]
            features = 4 * w
        elif arch == "shuffle":
            body = [ShuffleBlock(w), nn.MaxPool2d(2), conv_bn(w, 2 * w, 1), ShuffleBlock(2 * w)]
            body += [ShuffleBlock(2 * w)]
            features = 2 * w
        elif arch == "dense":
            growth = w // 2
            body = [DenseLayer(w, growth), DenseLayer(w + growth, growth)]
            body += [nn.BatchNorm2d(w + 2 * growth), nn.ReLU(), nn.Conv2d(w + 2 * growth, w, 1)]
            body += [nn.AvgPool2d(2), DenseLayer(w, growth), DenseLayer(w + growth, growth)]
            features = w + 2 * growth
        elif arch == "inception":
            body = [Inception(w, w, w, w // 2, w // 2), nn.MaxPool2d(3, stride=2, padding=1)]
            body += [Inception(3 * w, w, 2 * w, w // 2, w // 2)]
            features = 4 * w
        elif arch == "dpn":
            # each block adds dense_depth channels to the dense path (two on a stage's first)
            body = [DualPath(w, w, w, 4, True), DualPath(w + 8, w, w, 4, False)]
            body += [nn.MaxPool2d(2), DualPath(w + 12, 2 * w, 2 * w, 4, True)]
            features = 2 * w + 8
        else:
            raise SystemExit(f"unknown arch {arch}")
        self.body = nn.Sequential(*body)
        self.linear = nn.Linear(features, num_classes)

    def forward(self, x):
        out = F.relu(self.stem(x))
        out = self.body(out)
        if hasattr(self, "post"):
            out = F.relu(self.post(out))
        out = F.avg_pool2d(out, out.size(-1))
        out = out.view(out.size(0), -1)
        return self.linear(out)


def make_net():
    net = Net(args.arch, args.width).to(device)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.data.fill_(1)
            m.bias.data.zero_()
    return net


net = make_net()
print(f"{args.arch}: {sum(p.numel() for p in net.parameters() if p.requires_grad)} parameters")
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)


def train(epoch):
    net.train()
    train_loss, correct, total = 0.0, 0, 0
    for batch_idx, (inputs, targets) in enumerate(trainloader):
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        train_loss += loss.item()
        _, predicted = outputs.max(1)
        total += targets.size(0)
        correct += predicted.eq(targets).sum().item()
        print(
            f"epoch {epoch} batch {batch_idx} loss {loss.item():.6f} | "
            f"mean loss {train_loss / (batch_idx + 1):.6f} | "
            f"acc {100.0 * correct / total:.3f}% ({correct}/{total})"
        )


def evaluate(model):
    model.eval()
    test_loss, correct, total = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in testloader:
            outputs = model(inputs.to(device))
            test_loss += criterion(outputs, targets).item()
            correct += outputs.argmax(dim=1).eq(targets).sum().item()
            total += targets.size(0)
    return test_loss / len(testloader), 100.0 * correct / total


best_acc = -1.0
for epoch in range(args.epochs):
    train(epoch)
    test_loss, acc = evaluate(net)
    lr = scheduler.get_last_lr()[0]
    print(f"test epoch {epoch} loss {test_loss:.6f} | acc {acc:.3f}% | lr {lr:.6f}")
    if acc > best_acc:
        state = {"net": net.state_dict(), "acc": acc, "epoch": epoch}
        os.makedirs("checkpoint", exist_ok=True)
        torch.save(state, "./checkpoint/ckpt.pth")
        best_acc = acc
    scheduler.step()

# resume: a fresh model from the best checkpoint, evaluated again
checkpoint = torch.load("./checkpoint/ckpt.pth")
resumed = make_net()
resumed.load_state_dict(checkpoint["net"])
test_loss, acc = evaluate(resumed)
print(f"resumed epoch {checkpoint['epoch']} loss {test_loss:.6f} | acc {acc:.3f}%")


# inference: every Conv2d followed by a BatchNorm2d inside a Sequential folded into one conv
def fuse(module):
    for child in module.children():
        fuse(child)
    if isinstance(module, nn.Sequential):
        names = list(module._modules)
        for a, b in itertools.pairwise(names):
            conv, bn = module._modules[a], module._modules[b]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                module._modules[a] = nn.utils.fuse_conv_bn_eval(conv, bn)
                module._modules[b] = nn.Identity()
    return module


resumed.eval()
fused = fuse(resumed)
n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
test_loss, acc = evaluate(fused)
print(f"fused ({n_bn} BatchNorm left) loss {test_loss:.6f} | acc {acc:.3f}%")
