"""A small DCGAN that learns to draw scikit-learn's 8x8 handwritten digits.

The generator turns a noise vector into an image with transposed convolutions (1x1 -> 4x4 ->
8x8, BatchNorm and ReLU between, tanh at the end); the discriminator is its mirror image
(strided convolutions, BatchNorm, LeakyReLU(0.2), a sigmoid probability of "real"). They play
the DCGAN game with BCELoss and Adam(betas=(0.5, 0.999)): D learns to tell real digits from G's,
then G learns to make D answer "real". The printed D(x) and D(G(z)) are D's mean answers on a
real batch and on a fake one; with both players learning they hover around 0.5 instead of D
winning outright.

Written as a PyTorch program: ``import glassgrad as torch`` is its only change (the test runs the
same text on PyTorch). Noise and batch order come from NumPy, so both libraries see the same.

    python examples/digits_dcgan.py             # 300 steps
    python examples/digits_dcgan.py --steps 20
    python examples/digits_dcgan.py --compile  # each step run as generated NumPy code
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

import glassgrad as torch
import glassgrad.nn as nn
from glassgrad.data import load_digits


class Generator(nn.Module):
    """(N, nz, 1, 1) noise -> (N, 1, 8, 8) images in [-1, 1]."""

    def __init__(self, nz: int, ngf: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),  # 1x1 -> 4x4
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),  # 4x4 -> 8x8
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 1, 3, 1, 1, bias=False),  # 8x8, one channel
            nn.Tanh(),
        )

    def forward(self, z: Any) -> Any:
        return self.main(z)


class Discriminator(nn.Module):
    """(N, 1, 8, 8) images -> (N,) probabilities of being real."""

    def __init__(self, ndf: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(1, ndf, 4, 2, 1, bias=False),  # 8x8 -> 4x4
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 3, 1, 1, bias=False),  # 4x4
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),  # 4x4 -> 1x1
            nn.Sigmoid(),
        )

    def forward(self, x: Any) -> Any:
        return self.main(x).view(-1)


def weights_init(m: Any) -> None:
    """DCGAN's initialisation: convolutions N(0, 0.02), BatchNorm scales N(1, 0.02)."""
    name = type(m).__name__
    if "Conv" in name:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def main(
    argv: list[str] | None = None, initial_state: dict | None = None, compile: bool = False
) -> dict[str, Any]:
    """Train; return per-step losses and the initial weights of both networks
    (``initial_state`` replaces them). ``compile=True`` (or ``--compile``) wraps the training
    step, both players' updates, in ``torch.compile``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--nz", type=int, default=16)
    ap.add_argument("--ngf", type=int, default=16)
    ap.add_argument("--ndf", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--double", action="store_true", help="train in float64")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compile", action="store_true", help="compile the training step")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    dtype = np.float64 if args.double else np.float32
    images = load_digits(as_images=True)[0].numpy().astype(dtype) * 2 - 1  # in [-1, 1]

    netG, netD = Generator(args.nz, args.ngf), Discriminator(args.ndf)
    nets = {"G": netG, "D": netD}
    for name, net in nets.items():
        net.apply(weights_init)
        if args.double:
            net.double()
        if initial_state is not None:
            state = {k: torch.from_numpy(v.copy()) for k, v in initial_state[name].items()}
            net.load_state_dict(state)
    initial = {
        name: {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
        for name, net in nets.items()
    }
    criterion = nn.BCELoss()
    optD = torch.optim.Adam(netD.parameters(), lr=args.lr, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=args.lr, betas=(0.5, 0.999))
    real_label = torch.from_numpy(np.ones(args.batch, dtype))
    fake_label = torch.from_numpy(np.zeros(args.batch, dtype))

    def train_step(real: Any, noise: Any) -> tuple[float, float, float, float]:
        # D: maximise log D(x) + log(1 - D(G(z)))
        netD.zero_grad()
        out_real = netD(real)
        errD_real = criterion(out_real, real_label)
        errD_real.backward()
        fake = netG(noise)
        out_fake = netD(fake.detach())
        errD_fake = criterion(out_fake, fake_label)
        errD_fake.backward()
        optD.step()

        # G: maximise log D(G(z)) (the non-saturating loss)
        netG.zero_grad()
        errG = criterion(netD(fake), real_label)
        errG.backward()
        optG.step()
        return (
            errD_real.item() + errD_fake.item(),
            errG.item(),
            out_real.mean().item(),
            out_fake.mean().item(),
        )

    if compile or args.compile:
        train_step = torch.compile(train_step)
    history: dict[str, list[float]] = {"loss_D": [], "loss_G": [], "D_x": [], "D_G_z": []}
    order = rng.permutation(len(images))
    for step in range(args.steps):
        start = (step * args.batch) % (len(images) - args.batch)
        real = torch.from_numpy(images[order[start : start + args.batch]])
        noise = torch.from_numpy(rng.standard_normal((args.batch, args.nz, 1, 1)).astype(dtype))
        loss_D, loss_G, D_x, D_G_z = train_step(real, noise)
        history["loss_D"].append(loss_D)
        history["loss_G"].append(loss_G)
        history["D_x"].append(D_x)
        history["D_G_z"].append(D_G_z)
        if step % args.log_every == 0 or step == args.steps - 1:
            print(
                f"step {step:4d}  Loss_D {history['loss_D'][-1]:.4f}  "
                f"Loss_G {history['loss_G'][-1]:.4f}  D(x) {history['D_x'][-1]:.3f}  "
                f"D(G(z)) {history['D_G_z'][-1]:.3f}"
            )
    result = {**history, "initial_state": initial}
    if compile or args.compile:  # how the step's calls ran: recorded or replayed as NumPy code
        result["compile_stats"] = train_step.stats
    return result


if __name__ == "__main__":
    main()
