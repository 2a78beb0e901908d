"""Fit y = sin(x) on [-pi, pi] with a third-order polynomial, in six styles.

raw        plain tensors, autograd, hand-written SGD update under no_grad
function   custom autograd.Function (Legendre P3) with its own backward
sequential nn.Sequential on (x, x^2, x^3) features, manual parameter update
optim      the same model trained by torch.optim.RMSprop
module     an nn.Module subclass holding four scalar Parameters
dynamic    a model whose depth is drawn at random on every forward pass
"""

import argparse
import math
import random

import torch

parser = argparse.ArgumentParser(description="polynomial fit of sin(x)")
parser.add_argument(
    "--variant",
    default="raw",
    choices=["raw", "function", "sequential", "optim", "module", "dynamic"],
)
parser.add_argument("--points", type=int, default=2000)
parser.add_argument("--steps", type=int, default=2000)
parser.add_argument("--print-every", type=int, default=100)
parser.add_argument("--lr", type=float, default=None, help="default depends on the variant")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

torch.manual_seed(args.seed)

dtype = torch.float
device = torch.device("cpu")

x = torch.linspace(-math.pi, math.pi, args.points, device=device, dtype=dtype)
y = torch.sin(x)


def report(step, loss):
    if step % args.print_every == args.print_every - 1:
        print(f"step {step + 1:5d} loss {loss:.6f}")


def run_raw():
    lr = args.lr or 1e-6
    a = torch.randn((), device=device, dtype=dtype, requires_grad=True)
    b = torch.randn((), device=device, dtype=dtype, requires_grad=True)
    c = torch.randn((), device=device, dtype=dtype, requires_grad=True)
    d = torch.randn((), device=device, dtype=dtype, requires_grad=True)
    for t in range(args.steps):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum()
        report(t, loss.item())
        loss.backward()
        with torch.no_grad():
            a -= lr * a.grad
            b -= lr * b.grad
            c -= lr * c.grad
            d -= lr * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    print(f"Result: y = {a.item():.6f} + {b.item():.6f} x + {c.item():.6f} x^2 + {d.item():.6f} x^3")


class LegendreP3(torch.autograd.Function):
    """P3(t) = (5 t^3 - 3 t) / 2, with its derivative written by hand."""

    @staticmethod
    def forward(ctx, inp):
        ctx.save_for_backward(inp)
        return 0.5 * (5 * inp**3 - 3 * inp)

    @staticmethod
    def backward(ctx, grad_output):
        (inp,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * inp**2 - 1)


def run_function():
    lr = args.lr or 5e-6
    # start near the answer: a Legendre expansion of sin needs a good initial guess
    a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)
    for t in range(args.steps):
        P3 = LegendreP3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        report(t, loss.item())
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= lr * p.grad
                p.grad = None
    print(f"Result: y = {a.item():.6f} + {b.item():.6f} * P3({c.item():.6f} + {d.item():.6f} x)")


def features():
    p = torch.tensor([1, 2, 3])
    return x.unsqueeze(-1).pow(p)  # (points, 3)


def linear_result(layer):
    w = layer.weight
    print(
        f"Result: y = {layer.bias.item():.6f} + {w[:, 0].item():.6f} x"
        f" + {w[:, 1].item():.6f} x^2 + {w[:, 2].item():.6f} x^3"
    )


def run_sequential():
    lr = args.lr or 1e-6
    xx = features()
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    loss_fn = torch.nn.MSELoss(reduction="sum")
    for t in range(args.steps):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        report(t, loss.item())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= lr * param.grad
    linear_result(model[0])


def run_optim():
    lr = args.lr or 1e-3
    xx = features()
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.RMSprop(model.parameters(), lr=lr)
    for t in range(args.steps):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        report(t, loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    linear_result(model[0])


class Polynomial3(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        return self.a + self.b * x + self.c * x**2 + self.d * x**3

    def string(self):
        return (
            f"y = {self.a.item():.6f} + {self.b.item():.6f} x"
            f" + {self.c.item():.6f} x^2 + {self.d.item():.6f} x^3"
        )


class DynamicNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        # a cubic, plus 0 to 2 higher terms that all share the coefficient e
        y = self.a + self.b * x + self.c * x**2 + self.d * x**3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x**exp
        return y

    def string(self):
        return (
            f"y = {self.a.item():.6f} + {self.b.item():.6f} x + {self.c.item():.6f} x^2"
            f" + {self.d.item():.6f} x^3 + {self.e.item():.6f} x^4 ? + {self.e.item():.6f} x^5 ?"
        )


def run_module(model, lr, momentum=0.0):
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    for t in range(args.steps):
        y_pred = model(x)
        loss = criterion(y_pred, y)
        report(t, loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"Result: {model.string()}")


if __name__ == "__main__":
    if args.variant == "raw":
        run_raw()
    elif args.variant == "function":
        run_function()
    elif args.variant == "sequential":
        run_sequential()
    elif args.variant == "optim":
        run_optim()
    elif args.variant == "module":
        run_module(Polynomial3(), args.lr or 1e-6)
    else:
        run_module(DynamicNet(), args.lr or 1e-8, momentum=0.9)
