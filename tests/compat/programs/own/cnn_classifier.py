"""A CIFAR-10 style CNN classifier, written for glassgrad's compatibility suite.

Conv/BatchNorm/ReLU/MaxPool blocks with dropout and a global average pool, SGD with Nesterov
momentum and weight decay under a one-cycle schedule stepped per batch, an accuracy evaluation
under ``torch.no_grad()``, then a checkpoint saved, loaded into a fresh model and evaluated again.
"""

import argparse
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

parser = argparse.ArgumentParser(description="CIFAR-10 CNN")
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--batch-size", type=int, default=32)
parser.add_argument("--test-batch-size", type=int, default=80)
parser.add_argument("--width", type=int, default=8)
parser.add_argument("--max-lr", type=float, default=0.005)
parser.add_argument("--workers", type=int, default=0)
parser.add_argument("--log-interval", type=int, default=2)
parser.add_argument("--save", type=str, default="cifar_cnn.pt")
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()

torch.manual_seed(args.seed)

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
train_set = datasets.CIFAR10("data", train=True, download=True, transform=transform)
test_set = datasets.CIFAR10("data", train=False, download=True, transform=transform)
train_loader = DataLoader(
    train_set, batch_size=args.batch_size, shuffle=True, num_workers=args.workers
)
test_loader = DataLoader(test_set, batch_size=args.test_batch_size, shuffle=False)


def conv_block(cin, cout, pool=True):
    layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)]
    layers.append(nn.ReLU(inplace=True))
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class Net(nn.Module):
    def __init__(self, width=8, num_classes=10):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            conv_block(3, w),
            conv_block(w, 2 * w),
            nn.Dropout(0.25),
            conv_block(2 * w, 4 * w, pool=False),
            conv_block(4 * w, 4 * w),
        )
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.5),
            nn.Linear(4 * w, 2 * w),
            nn.ReLU(),
            nn.Linear(2 * w, num_classes),
        )

    def forward(self, x):
        return self.head(self.pool(self.features(x)))


def train(model, optimizer, scheduler, epoch):
    model.train()
    total, seen = 0.0, 0
    for batch_idx, (data, target) in enumerate(train_loader):
        optimizer.zero_grad()
        output = model(data)
        loss = F.cross_entropy(output, target)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.item() * data.size(0)
        seen += data.size(0)
        if batch_idx % args.log_interval == 0:
            lr = scheduler.get_last_lr()[0]
            mom = optimizer.param_groups[0]["momentum"]
            print(
                f"epoch {epoch} batch {batch_idx} lr {lr:.6f} momentum {mom:.4f} "
                f"loss {loss.item():.6f}"
            )
    print(f"epoch {epoch} train loss {total / seen:.6f}")


def evaluate(model, tag):
    model.eval()
    test_loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data)
            test_loss += F.cross_entropy(output, target, reduction="sum").item()
            correct += output.argmax(1).eq(target).sum().item()
    n = len(test_loader.dataset)
    print(
        f"{tag}: test loss {test_loss / n:.6f}, accuracy {correct}/{n} ({100.0 * correct / n:.1f}%)"
    )
    return correct


model = Net(args.width)
optimizer = torch.optim.SGD(
    model.parameters(), lr=args.max_lr / 25, momentum=0.9, nesterov=True, weight_decay=5e-4
)
scheduler = torch.optim.lr_scheduler.OneCycleLR(
    optimizer, max_lr=args.max_lr, epochs=args.epochs, steps_per_epoch=len(train_loader)
)
print(f"parameters {sum(p.numel() for p in model.parameters())}")
for epoch in range(1, args.epochs + 1):
    train(model, optimizer, scheduler, epoch)
    evaluate(model, f"epoch {epoch}")

torch.save(model.state_dict(), args.save)
print(f"saved {os.path.getsize(args.save) > 0}")
restored = Net(args.width)
restored.load_state_dict(torch.load(args.save))
mean = restored.features[0][1].running_mean
print(f"restored first running mean sum {mean.sum().item():.4f}")
evaluate(restored, "restored")
evaluate(model, "again")
