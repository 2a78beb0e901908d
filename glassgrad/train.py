"""``glassgrad train``: train a classifier on the bundled digits or your own data, PyTorch-style.

    glassgrad train                              # MLP on the bundled 8x8 digits, >= 97% in seconds
    glassgrad train --model cnn                  # conv-pool-conv-pool-linear, >= 98%
    glassgrad train --data idx:images.gz,labels.gz --model cnn --epochs 5
    glassgrad train --save ck.npz --stop-after 2 && glassgrad train --resume ck.npz
    glassgrad train --compile --show-code        # each step as generated NumPy code; print it

This module is the job (data, models, the loop, checkpoints: ``run(Config(...))`` returns the
results); ``glassgrad/__main__.py`` is its command line (options, summary table, curves, JSON).
Launched as ``mpiexec -n N glassgrad train ...`` it runs data-parallel on N processes, the same
run with the work split (``glassgrad/train_parallel.py``).
The loop is the one a PyTorch user writes (``zero_grad``, forward, loss, ``backward``, ``step``);
the rest is plumbing: options, data, checkpoints that resume exactly, progress and a summary.
A checkpoint, written atomically after every epoch, holds the model, optimizer and scheduler
states, the epoch, the history and both random states (glassgrad's generator, for dropout, and the
loader's shuffling generator), so a resumed run reproduces the uninterrupted run's losses exactly.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

import glassgrad as gg
from glassgrad import nn
from glassgrad.serialization import load, save
from glassgrad.train_parallel import Ranks, join, wrap

CHECKPOINT_FORMAT = "glassgrad-train-checkpoint/1"
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "step", "cosine", "onecycle")
DTYPES = {"float32": gg.float32, "float64": gg.float64}
DEFAULT_LR = {"sgd": 0.05, "adam": 2e-3, "adamw": 2e-3}
DEFAULT_HIDDEN = {"mlp": (256, 128), "cnn": (32, 64)}


class TrainError(Exception):
    """A bad option, data file or checkpoint: reported as one line, without a traceback.

    ``code`` is the exit status: 2 for a bad command line (as argparse), 1 for the rest.
    """

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# ---- options -------------------------------------------------------------------------------------


@dataclass
class Config:
    """What defines a run; stored in checkpoints, so a resumed run is the same run."""

    data: str = "digits"
    model: str = "mlp"
    hidden: tuple[int, ...] = ()  # empty: DEFAULT_HIDDEN[model]
    epochs: int = 30
    batch_size: int = 32
    lr: float = 0.0  # 0: DEFAULT_LR[optimizer]
    optimizer: str = "adam"
    schedule: str = "cosine"
    weight_decay: float = 0.0
    dropout: float = 0.2
    seed: int = 0
    dtype: str = "float32"
    test_fraction: float = 0.2

    def resolved(self) -> Config:
        """The config with its 'use the default' placeholders filled in."""
        c = Config(**asdict(self))
        c.hidden = tuple(self.hidden) or DEFAULT_HIDDEN[self.model]
        c.lr = self.lr or DEFAULT_LR[self.optimizer]
        return c


# Options that only steer this invocation (not stored, may differ on resume).
@dataclass
class RunOptions:
    save: str | None = None
    resume: str | None = None
    progress: bool = True
    stop_after: int | None = None
    report: str | None = None  # print a gradient-flow report each epoch, plot norms to this PNG
    compile: bool = False  # run each training step through glassgrad.compile
    show_code: bool = False  # return the compiled step's code (result["compiled_code"])
    explicit: set[str] = field(default_factory=set)  # Config fields given on the command line


# ---- data ----------------------------------------------------------------------------------------


def load_arrays(spec: str) -> tuple[np.ndarray, np.ndarray]:
    """Features and integer labels from ``--data``; a bad spec or file raises TrainError."""
    from glassgrad import data

    kind, _, arg = spec.partition(":")
    try:
        if spec == "digits":
            features, labels = data.load_digits()
        elif kind == "idx" and arg.count(",") == 1 and all(arg.split(",")):
            image_file, label_file = arg.split(",")
            features, labels = data.load_idx(image_file, label_file)
        elif kind == "npz" and arg:
            features, labels = data.load_npz(arg)
        elif kind == "csv" and arg:
            features, labels = data.load_csv(arg)
        else:
            raise TrainError(
                f"--data {spec!r}: expected digits, idx:IMAGES,LABELS, npz:PATH or csv:PATH",
                code=2,
            )
    except (OSError, ValueError) as e:  # the loaders name the file and what was wrong
        raise TrainError(f"--data {spec}: {e}") from None
    X, y = np.asarray(features), np.asarray(labels)
    if X.ndim < 2 or y.ndim != 1 or len(X) != len(y):
        raise TrainError(
            f"--data {spec}: expected features (N, ...) and labels (N,), got shapes "
            f"{X.shape} and {y.shape}"
        )
    if len(y) < 2:
        raise TrainError(f"--data {spec}: need at least 2 examples, got {len(y)}")
    if y.dtype.kind == "f" and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu" or y.min() < 0:
        raise TrainError(
            f"--data {spec}: labels must be class indices 0, 1, 2, ... (got dtype {y.dtype}, "
            f"min {y.min()})"
        )
    if X.dtype.kind not in "fiub" or not np.all(np.isfinite(X)):
        raise TrainError(f"--data {spec}: features must be finite numbers (dtype {X.dtype})")
    return X, y.astype(np.int64)


def as_model_input(X: np.ndarray, model: str, spec: str) -> np.ndarray:
    """Flatten for the MLP; for the CNN make (N, C, H, W), squaring flat rows if they are."""
    if model == "mlp":
        return X.reshape(len(X), -1)
    if X.ndim == 2:
        side = math.isqrt(X.shape[1])
        if side * side != X.shape[1]:
            raise TrainError(
                f"--model cnn needs images; --data {spec} has {X.shape[1]} features per example, "
                "not a square number"
            )
        return X.reshape(len(X), 1, side, side)
    if X.ndim == 3:
        return X[:, None]
    if X.ndim == 4:
        return X
    raise TrainError(f"--model cnn: cannot read --data {spec} of shape {X.shape} as images")


@dataclass
class Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int


def prepare(cfg: Config) -> Split:
    """Load, split 80/20 with the seed, scale with the training part's statistics."""
    X, y = load_arrays(cfg.data)
    X = as_model_input(X, cfg.model, cfg.data).astype(np.dtype(cfg.dtype))
    order = np.random.default_rng([cfg.seed, 0]).permutation(len(y))
    n_test = max(1, round(cfg.test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    x_train, x_test = X[train], X[test]
    # One mean and scale for all features: right for pixels, harmless for tabular data whose
    # columns are on similar scales. Per-feature scaling would blow up near-constant pixels.
    mean, std = x_train.mean(), x_train.std()
    scale = 1.0 / std if std > 0 else 1.0
    x_train = ((x_train - mean) * scale).astype(X.dtype)
    x_test = ((x_test - mean) * scale).astype(X.dtype)
    return Split(x_train, y[train], x_test, y[test], int(y.max()) + 1)


# ---- models --------------------------------------------------------------------------------------


def mlp(
    in_features: int, hidden: Sequence[int], num_classes: int, dropout: float = 0.0
) -> nn.Sequential:
    """Linear -> ReLU (-> Dropout) per hidden width, then a Linear to the classes."""
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def cnn(
    in_shape: Sequence[int], channels: Sequence[int], num_classes: int, dropout: float = 0.0
) -> nn.Sequential:
    """Per block a 3x3 conv (same padding) -> ReLU -> 2x2 max pool; then flatten -> linear."""
    c, h, w = in_shape
    if min(h, w) < 2 ** len(channels):
        raise TrainError(
            f"--model cnn: images of {h}x{w} are too small for {len(channels)} pooling blocks "
            f"(--hidden {','.join(map(str, channels))})"
        )
    layers: list[nn.Module] = []
    for out in channels:
        layers += [nn.Conv2d(c, out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        c, h, w = out, h // 2, w // 2
    layers.append(nn.Flatten())
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(c * h * w, num_classes))
    return nn.Sequential(*layers)


def build_model(cfg: Config, split: Split) -> nn.Module:
    if cfg.model == "mlp":
        model = mlp(split.x_train.shape[1], cfg.hidden, split.num_classes, cfg.dropout)
    else:
        model = cnn(split.x_train.shape[1:], cfg.hidden, split.num_classes, cfg.dropout)
    return model.to(DTYPES[cfg.dtype])


def build_optimizer(cfg: Config, model: nn.Module) -> Any:
    from glassgrad import optim

    params = list(model.parameters())
    if cfg.optimizer == "sgd":
        return optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay or 0.01)


def build_scheduler(cfg: Config, optimizer: Any, steps_per_epoch: int) -> tuple[Any, bool]:
    """The scheduler and whether it steps per batch (OneCycle) rather than per epoch."""
    from glassgrad.optim import lr_scheduler

    if cfg.schedule == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(1, cfg.epochs // 3), gamma=0.1), False
    if cfg.schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs), False
    if cfg.schedule == "onecycle":
        total = cfg.epochs * steps_per_epoch
        return lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=total), True
    return None, False


# ---- checkpoints ---------------------------------------------------------------------------------


@dataclass
class Trainer:
    """Everything a run holds: what a checkpoint saves and a resume restores."""

    cfg: Config
    split: Split
    model: nn.Module
    optimizer: Any
    scheduler: Any
    per_batch_schedule: bool
    loader: Any
    loader_rng: np.random.Generator
    epoch: int = 0
    history: dict[str, list[float]] = field(default_factory=dict)
    ranks: Ranks = field(default_factory=Ranks)
    net: Any = None  # what the loop calls: the model, or it wrapped for several ranks

    def checkpoint(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "config": asdict(self.cfg),
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else {},
            "rng": {  # PCG64 states: dicts of (128-bit) ints, which glassgrad.save keeps exactly
                "glassgrad": gg.generator().bit_generator.state,
                "loader": self.loader_rng.bit_generator.state,
            },
            "history": self.history,
        }

    def restore(self, ck: dict[str, Any]) -> None:
        self.model.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(ck["scheduler"])
        self.epoch = int(ck["epoch"])
        self.history = {k: list(v) for k, v in ck["history"].items()}
        gg.generator().bit_generator.state = ck["rng"]["glassgrad"]
        self.loader_rng.bit_generator.state = ck["rng"]["loader"]


def read_checkpoint(path: str) -> tuple[dict[str, Any], Config]:
    """Load a checkpoint and its Config; anything else (a missing file...) is a TrainError."""
    try:
        ck = load(path)
    except (OSError, ValueError, KeyError) as e:
        raise TrainError(f"--resume {path}: {e}") from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise TrainError(f"--resume {path}: not a glassgrad train checkpoint")
    fields = dict(ck["config"])
    fields["hidden"] = tuple(fields["hidden"])
    try:
        return ck, Config(**fields)
    except TypeError as e:
        raise TrainError(f"--resume {path}: the checkpoint's config does not fit: {e}") from None


def merge_resumed(saved: Config, given: Config, explicit: set[str], path: str) -> Config:
    """The saved run's config; an option given now must agree (only --epochs may grow)."""
    for name in sorted(explicit):
        old, new = getattr(saved, name), getattr(given, name)
        if name == "epochs" and saved.schedule in ("none", "step"):
            continue
        if name == "hidden":
            new = tuple(new) or DEFAULT_HIDDEN[saved.model]
        if name == "lr":
            new = new or DEFAULT_LR[saved.optimizer]
        if old != new:
            raise TrainError(
                f"--{name.replace('_', '-')} {new} differs from the checkpoint {path} "
                f"({old}); leave it out to continue that run",
                code=2,
            )
    cfg = Config(**asdict(saved))
    if "epochs" in explicit:
        cfg.epochs = given.epochs
    return cfg


# ---- the loop ------------------------------------------------------------------------------------


def make_trainer(cfg: Config, split: Split) -> Trainer:
    from glassgrad import data

    gg.manual_seed(cfg.seed)
    model = build_model(cfg, split)
    optimizer = build_optimizer(cfg, model)
    loader_rng = np.random.default_rng([cfg.seed, 1])
    train_set = data.TensorDataset(gg.from_numpy(split.x_train), gg.from_numpy(split.y_train))
    loader = data.DataLoader(
        train_set, batch_size=cfg.batch_size, shuffle=True, generator=loader_rng
    )
    scheduler, per_batch = build_scheduler(cfg, optimizer, len(loader))
    return Trainer(cfg, split, model, optimizer, scheduler, per_batch, loader, loader_rng)


def evaluate(
    model: nn.Module, x: np.ndarray, y: np.ndarray, batch: int = 1024, ranks: Ranks | None = None
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy, in eval mode and without recording a graph (each of
    several ranks on its share of the examples)."""
    ranks = ranks or Ranks()
    part = ranks.share(len(y))
    total_loss, correct = ranks.sum(list(_evaluate_sums(model, x[part], y[part], batch)))
    return total_loss / len(y), correct / len(y)


def _evaluate_sums(model: nn.Module, x: np.ndarray, y: np.ndarray, batch: int) -> tuple[float, int]:
    model.eval()
    total_loss, correct = 0.0, 0
    with gg.no_grad():
        for i in range(0, len(y), batch):
            xb, yb = gg.from_numpy(x[i : i + batch]), gg.from_numpy(y[i : i + batch])
            logits = model(xb)
            total_loss += nn.functional.cross_entropy(logits, yb, reduction="sum").item()
            correct += int((logits.argmax(dim=1) == yb).sum().item())
    return total_loss, correct


def _progress(total: int, desc: str, enabled: bool) -> Any:
    """A tqdm bar counting samples (its rate is the throughput), or None without tqdm."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(
        total=total, desc=desc, unit="sample", unit_scale=True, leave=False, file=sys.stderr
    )


def make_train_step(
    model: nn.Module, optimizer: Any, world: int = 1
) -> Callable[[Any, Any, int], tuple[float, int]]:
    """The per-batch step: forward, loss, backward, update; returns this rank's share of the
    batch's mean loss and its number of correct predictions. ``n`` is the whole batch's size
    (across ``world`` ranks; each sees its share). ``glassgrad.compile`` can wrap it whole."""
    loss_fn = nn.CrossEntropyLoss()

    def train_step(xb: gg.Tensor, yb: gg.Tensor, n: int) -> tuple[float, int]:
        logits = model(xb)
        if world > 1:  # the loss is this rank's share of the batch mean
            loss = nn.functional.cross_entropy(logits, yb, reduction="sum") * (world / n)
        else:
            loss = loss_fn(logits, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item(), (logits.argmax(dim=1) == yb).sum().item()

    return train_step


def train_epoch(
    t: Trainer,
    progress: bool,
    after_training: Callable[[float], None] | None = None,
    step: Callable[[Any, Any, int], tuple[float, int]] | None = None,
) -> dict[str, float]:
    """One pass over the shuffled training data; returns the epoch's metrics.

    ``after_training(lr)`` runs once the epoch's last step is done and before the evaluation
    (while the last training batch's gradients and activations are still there), with the
    learning rate the epoch's updates used. ``step`` runs each batch (default: an eager
    ``make_train_step``; ``run`` passes a compiled one for ``--compile``).
    """
    model, opt, ranks = t.net or t.model, t.optimizer, t.ranks
    step = step or make_train_step(model, opt, ranks.world)
    model.train()
    ranks.seed_dropout(t.cfg.seed, t.epoch)
    n_seen, loss_sum, correct = 0, 0.0, 0
    lr = opt.param_groups[0]["lr"]
    start = time.perf_counter()
    bar = _progress(len(t.split.y_train), f"epoch {t.epoch + 1}/{t.cfg.epochs}", progress)
    for xb, yb in t.loader:
        n = len(yb)
        if ranks.world > 1:  # this rank's share of the batch
            part = ranks.share(n)
            xb, yb = xb[part], yb[part]
        loss, batch_correct = step(xb, yb, n)
        if t.per_batch_schedule:
            t.scheduler.step()
        n_seen += len(yb)
        loss_sum += loss * n / ranks.world
        correct += int(batch_correct)
        if bar is not None:
            bar.set_postfix(loss=f"{loss_sum / n_seen:.4f}", refresh=False)
            bar.update(n)
    if bar is not None:
        bar.refresh()  # the epoch's final loss and rate, even if it took less than a refresh
        bar.close()
    if t.scheduler is not None and not t.per_batch_schedule:
        t.scheduler.step()
    seconds = time.perf_counter() - start
    if after_training is not None:
        after_training(lr)
    loss_sum, n_correct, n_all = ranks.sum([loss_sum, correct, n_seen])
    test_loss, test_acc = evaluate(t.model, t.split.x_test, t.split.y_test, ranks=ranks)
    return {
        "train_loss": loss_sum / n_all,
        "train_accuracy": n_correct / n_all,
        "test_loss": test_loss,
        "test_accuracy": test_acc,
        "lr": float(lr),
        "seconds": seconds,
        "samples_per_second": n_all / seconds if seconds > 0 else float("inf"),
    }


def save_checkpoint(t: Trainer, path: str) -> None:
    """Rank 0 writes the checkpoint (atomically); the other ranks hold the same state."""
    if not t.ranks.leader:
        return
    try:
        save(t.checkpoint(), path)
    except OSError as e:
        if t.ranks.world > 1:  # only rank 0 knows: it stops the whole job
            t.ranks.fail(f"--save {path}: {e}", 1)
        raise TrainError(f"--save {path}: {e}") from None


def _read_on_leader(path: str, ranks: Ranks) -> tuple[dict[str, Any], Config]:
    """``read_checkpoint`` on rank 0, its result (or its error) on every rank."""
    got: Any = None
    if ranks.leader:
        try:
            got = read_checkpoint(path)
        except TrainError as e:
            got = e
    got = ranks.from_leader(got)
    if isinstance(got, TrainError):
        raise got
    return got


def run(
    cfg: Config, opts: RunOptions | None = None, log: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Train as the options say and return the results (what ``--json`` prints)."""
    opts = opts or RunOptions()
    ranks = join()
    say = (log if ranks.leader else None) or (lambda s: None)
    t0 = time.perf_counter()
    ck = None
    if opts.resume:
        ck, saved = _read_on_leader(opts.resume, ranks)
        cfg = merge_resumed(saved, cfg, opts.explicit, opts.resume)
    cfg = cfg.resolved()
    split = prepare(cfg)
    t = make_trainer(cfg, split)
    t.ranks = ranks
    if ck is not None:
        try:
            t.restore(ck)
        except (KeyError, ValueError, RuntimeError) as e:
            raise TrainError(f"--resume {opts.resume}: {e}") from None
        say(f"resumed {opts.resume} after epoch {t.epoch} of {cfg.epochs}")
    t.net = wrap(t.model, ranks)
    if ranks.world > 1:
        say(f"data-parallel on {ranks.world} ranks: each takes 1/{ranks.world} of every batch")
    n_params = sum(p.numel() for p in t.model.parameters())
    say(
        f"{cfg.model} ({n_params:,} parameters) on {cfg.data}: {len(split.y_train)} train / "
        f"{len(split.y_test)} test examples, {split.num_classes} classes, {cfg.optimizer} "
        f"lr {cfg.lr:g}, {cfg.schedule} schedule, batch {cfg.batch_size}, {cfg.dtype}"
    )
    last = cfg.epochs if opts.stop_after is None else min(cfg.epochs, opts.stop_after)
    report_epoch, gradient_history, watcher = None, None, None
    if opts.report and ranks.leader:
        from glassgrad.inspect import GradientHistory, gradient_report, watch

        watcher, gradient_history = watch(t.model).start(), GradientHistory()

        def report_epoch(lr: float) -> None:
            rep = gradient_report(t.model, lr=lr, activations=watcher)
            say(f"gradient flow after epoch {t.epoch + 1}:\n{rep}")
            gradient_history.record(rep)

    step = make_train_step(t.net or t.model, t.optimizer, ranks.world)
    compiled = None  # made after the restore: the step reads the restored state
    if opts.compile or opts.show_code:
        step = compiled = gg.compile(step)
    while t.epoch < last:
        metrics = train_epoch(t, opts.progress and ranks.leader, report_epoch, step)
        t.epoch += 1
        for k, v in metrics.items():
            t.history.setdefault(k, []).append(v)
        say(
            f"epoch {t.epoch:>3}/{cfg.epochs}  loss {metrics['train_loss']:.4f}  "
            f"test loss {metrics['test_loss']:.4f}  test acc {metrics['test_accuracy']:.2%}  "
            f"{metrics['samples_per_second']:,.0f} samples/s"
        )
        if opts.save:
            save_checkpoint(t, opts.save)
    if watcher is not None and gradient_history is not None and opts.report:
        watcher.stop()
        gradient_history.plot(opts.report)
        say(f"per-layer gradient norms written to {opts.report}")
    h = t.history
    result = {
        "model": cfg.model,
        "data": cfg.data,
        "parameters": n_params,
        "world_size": ranks.world,
        "epochs": t.epoch,
        "planned_epochs": cfg.epochs,
        "train_loss": h["train_loss"][-1] if h else None,
        "train_accuracy": h["train_accuracy"][-1] if h else None,
        "test_loss": h["test_loss"][-1] if h else None,
        "test_accuracy": h["test_accuracy"][-1] if h else None,
        "seconds": time.perf_counter() - t0,
        "history": h,
        "config": asdict(cfg),
    }
    if compiled is not None:
        result["compile"] = compiled.stats  # steps recorded (run eagerly), replayed as NumPy
        if opts.show_code:
            result["compiled_code"] = compiled.code
    return result
