"""Handwritten digits with a multilayer perceptron, in the code a PyTorch user writes.

With ``torch``, ``torch.nn``, ``torch.optim`` and ``torch.utils.data`` in place of the glassgrad
imports, the model, the loop and the evaluation run unchanged in PyTorch (only the seeds differ:
glassgrad takes an int where torch wants a ``torch.Generator``). The data is the 8x8 digits that
scikit-learn ships (1,797 images), bundled with glassgrad, so nothing is downloaded.

    python examples/digits_mlp.py            # ~98% test accuracy in a few seconds
    python examples/digits_mlp.py --compile  # the same numbers, each step run as NumPy code
"""

from __future__ import annotations

import sys
from typing import Any

import glassgrad as gg
from glassgrad import nn, optim
from glassgrad.data import DataLoader, TensorDataset, load_digits, random_split


def main(epochs: int = 30, seed: int = 0, compile: bool = False) -> dict[str, Any]:
    """Train and evaluate; ``compile=True`` runs each step as generated NumPy code."""
    gg.manual_seed(seed)
    X, y = load_digits()  # (1797, 64) floats in [0, 1], labels 0..9
    X = (X - X.mean()) / X.std()
    train_set, test_set = random_split(TensorDataset(X, y), [0.8, 0.2], generator=seed)
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True, generator=seed)
    test_loader = DataLoader(test_set, batch_size=512)

    model = nn.Sequential(
        nn.Linear(64, 256),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(128, 10),
    )
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=2e-3)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)

    def train_step(xb: gg.Tensor, yb: gg.Tensor) -> float:
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    def count_correct(xb: gg.Tensor, yb: gg.Tensor) -> int:
        return (model(xb).argmax(dim=1) == yb).sum().item()

    if compile:  # record each function's first calls, then replay them as plain NumPy code
        train_step, count_correct = gg.compile(train_step), gg.compile(count_correct)

    for epoch in range(1, epochs + 1):
        model.train()
        total, count = 0.0, 0
        for xb, yb in train_loader:
            total += train_step(xb, yb) * len(yb)
            count += len(yb)
        scheduler.step()

        model.eval()
        correct = 0
        with gg.no_grad():
            for xb, yb in test_loader:
                correct += count_correct(xb, yb)
        accuracy = correct / len(test_set)
        print(f"epoch {epoch:>2}  train loss {total / count:.4f}  test accuracy {accuracy:.2%}")
    result: dict[str, Any] = {"train_loss": total / count, "test_accuracy": accuracy}
    if compile:  # how the calls ran: recorded (eagerly) or replayed as generated code
        result["compile_stats"] = {
            "train_step": train_step.stats,
            "count_correct": count_correct.stats,
        }
    return result


if __name__ == "__main__":
    main(compile="--compile" in sys.argv[1:])
