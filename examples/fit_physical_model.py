"""Fit a damped oscillator to noisy data by gradient descent: autodiff outside deep learning.

The model is the closed-form solution of an underdamped spring, no ODE solver needed:

    x(t) = A exp(-g t) cos(w t + phi)

From 400 noisy samples we recover (A, g, w, phi) by minimising the mean squared residual with
Adam, written exactly as one would with NumPy, except that the arrays are glassgrad tensors and
``loss.backward()`` supplies the gradient. The frequency is the one non-convex direction (the loss
has a local minimum at every alias of w), so, as a physicist would, we start w at the peak of the
data's spectrum. Then ``glassgrad.func.hessian`` gives the curvature of the loss at the optimum,
and from it the usual least-squares standard errors of each parameter.

    python examples/fit_physical_model.py
    python examples/fit_physical_model.py --compile  # each Adam step run as generated NumPy code
"""

from __future__ import annotations

import math
import sys

import numpy as np

import glassgrad as gg
from glassgrad import optim
from glassgrad.func import hessian

TRUE = {"A": 2.0, "g": 0.3, "w": 3.1, "phi": 0.7}
NAMES = tuple(TRUE)


def oscillator(theta: gg.Tensor, t: gg.Tensor) -> gg.Tensor:
    A, g, w, phi = theta[0], theta[1], theta[2], theta[3]
    return A * gg.exp(-g * t) * gg.cos(w * t + phi)


def make_data(n: int = 400, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Samples of the true oscillator on [0, 10] plus Gaussian noise of std ``noise``."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 10.0, n)
    A, g, w, phi = TRUE.values()
    x = A * np.exp(-g * t) * np.cos(w * t + phi) + noise * rng.standard_normal(n)
    return t, x


def initial_guess(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A from the largest swing, w from the spectrum's peak, a mild damping, no phase."""
    dt = t[1] - t[0]
    spectrum = np.abs(np.fft.rfft(x - x.mean(), n=16 * len(x)))  # zero-padded: a finer grid
    freqs = np.fft.rfftfreq(16 * len(x), d=dt)
    w0 = 2 * math.pi * freqs[np.argmax(spectrum[1:]) + 1]
    return np.array([np.abs(x).max(), 0.1, w0, 0.0])


def fit(
    t_np: np.ndarray,
    x_np: np.ndarray,
    steps: int = 2000,
    lr: float = 0.02,
    compile: bool = False,
) -> dict[str, object]:
    """Adam on the mean squared residual; returns estimates, standard errors and the losses.

    ``compile=True`` wraps the step in ``glassgrad.compile`` (the same numbers, run as NumPy).
    """
    t, x = gg.tensor(t_np, dtype=gg.float64), gg.tensor(x_np, dtype=gg.float64)
    theta = gg.tensor(initial_guess(t_np, x_np), dtype=gg.float64, requires_grad=True)

    def loss_fn(p: gg.Tensor) -> gg.Tensor:
        return ((oscillator(p, t) - x) ** 2).mean()

    optimizer = optim.Adam([theta], lr=lr)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)

    def train_step() -> float:
        optimizer.zero_grad()
        loss = loss_fn(theta)
        loss.backward()
        optimizer.step()
        return loss.item()

    if compile:
        train_step = gg.compile(train_step)
    losses = []
    for _ in range(steps):
        losses.append(train_step())
        scheduler.step()  # outside the step: it sets the learning rate the next call reads

    # Least squares: cov = sigma^2 (J^T J)^-1 and the Hessian of the mean squared residual is
    # ~ 2 J^T J / n at the optimum, so cov = 2 sigma^2 H^-1 / n with sigma^2 the residual variance.
    final = theta.detach()
    n, k = len(x_np), len(final)
    sigma2 = loss_fn(final).item() * n / (n - k)
    H = hessian(loss_fn)(final).numpy()
    stderr = np.sqrt(np.diag(2 * sigma2 * np.linalg.inv(H) / n))
    result: dict[str, object] = {
        "initial": dict(zip(NAMES, initial_guess(t_np, x_np).tolist())),
        "estimate": dict(zip(NAMES, final.numpy().tolist())),
        "stderr": dict(zip(NAMES, stderr.tolist())),
        "losses": losses,
        "noise_std": math.sqrt(sigma2),
    }
    if compile:  # how the step's calls ran: recorded (eagerly) or replayed as generated code
        result["compile_stats"] = train_step.stats
    return result


def main(steps: int = 2000, compile: bool = False) -> dict[str, object]:
    t, x = make_data()
    result = fit(t, x, steps=steps, compile=compile)
    print(f"{'':>4}  {'true':>7}  {'start':>7}  {'fitted':>7}  {'± stderr':>9}")
    for name in NAMES:
        print(
            f"{name:>4}  {TRUE[name]:>7.3f}  {result['initial'][name]:>7.3f}  "  # type: ignore[index]
            f"{result['estimate'][name]:>7.3f}  {result['stderr'][name]:>9.4f}"  # type: ignore[index]
        )
    losses = result["losses"]
    print(
        f"mean squared residual {losses[0]:.4f} -> {losses[-1]:.5f} in {steps} Adam steps "  # type: ignore[index]
        f"(noise variance {0.1**2:.5f}); residual std {result['noise_std']:.4f}"
    )
    return result


if __name__ == "__main__":
    main(compile="--compile" in sys.argv[1:])
