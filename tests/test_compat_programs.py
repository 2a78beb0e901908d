"""Public PyTorch programs, run unchanged on PyTorch and on glassgrad: the same printed losses.

Each program's source sits in tests/compat/programs/ as published (a header names its origin;
where a program downloads a dataset or is sized for a GPU, only its data source or command-line
sizes differ, and the header says so). ``tests/compat/harness.py`` runs it once with PyTorch and
once with ``import torch`` resolved to glassgrad, giving both the same initial weights and the
same random data, and the numbers on the lines that report losses are compared.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil

import numpy as np
import pytest

from tests.compat import harness

HERE = os.path.join(os.path.dirname(__file__), "compat", "programs")


def same_numbers(keep: str, rtol: float):
    """The numbers on the printed lines matching ``keep`` agree within ``rtol``."""

    def check(ours: str, theirs: str) -> None:
        a, b = harness.numbers(ours, keep), harness.numbers(theirs, keep)
        assert len(a) == len(b) > 0, f"printed differently:\n{ours}\n--- torch:\n{theirs}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-6, err_msg=f"{ours}\n{theirs}")

    return check


LOSS = re.compile(r"loss\s+([-\d.]+)")


def same_losses(first: int | None = None, rtol: float = 1e-6):
    """The numbers printed right after the word "loss" agree (timings on the same lines don't
    count); ``first``: only the first ones, where a run is not yet chaotic."""

    def check(ours: str, theirs: str) -> None:
        a, b = (
            [float(x) for x in re.findall(r"loss\s+([-\d.]+)", out)][:first]
            for out in (ours, theirs)
        )
        assert len(a) == len(b) > 0, f"printed differently:\n{ours}\n--- torch:\n{theirs}"
        np.testing.assert_allclose(a, b, rtol=rtol, err_msg=f"{ours}\n{theirs}")

    return check


def regression_converged(ours: str, theirs: str) -> None:
    """The loop runs until the loss is below 1e-3, so float32 rounding (matmul summation order)
    changes how many batches that takes; both must stop and learn the same polynomial."""
    for out in (ours, theirs):
        loss = harness.numbers(out, r"^Loss")[0]
        learned = harness.numbers(out, "Learned")[::2]
        actual = harness.numbers(out, "Actual")[::2]
        assert loss < 1e-3 and np.allclose(learned, actual, atol=0.2), out
    same_numbers("Actual", 1e-6)(ours, theirs)  # the same target function: data replayed


def same_output(ours: str, theirs: str) -> None:
    """Every printed line the same: losses to the printed digits, and sampled text too (the
    random draws are replayed, so a sample differs only if the probabilities do)."""
    assert ours == theirs, f"glassgrad printed:\n{ours}\n--- PyTorch printed:\n{theirs}"


MNIST_ARGS = ["--epochs", "1", "--batch-size", "32", "--log-interval", "2"]
MNIST_ARGS += ["--test-batch-size", "80"]

DCGAN_ARGS = ["--dataset", "fake", "--imageSize", "64", "--batchSize", "4", "--nz", "8"]
DCGAN_ARGS += ["--ngf", "4", "--ndf", "4", "--niter", "1", "--manualSeed", "1", "--workers", "0"]

WORD_LM_ARGS = ["--data", os.path.join(HERE, "word_language_model", "corpus"), "--epochs", "1"]
WORD_LM_ARGS += ["--emsize", "16", "--nhid", "16", "--nlayers", "1", "--bptt", "8"]
WORD_LM_ARGS += ["--batch_size", "4", "--log-interval", "1", "--save", "model.pt"]

# minGPT's chargpt.py: its CfgNode takes overrides as Python literals; a 2-layer GPT instead of
# gpt-mini, 21 iterations (losses printed every 10, a 500-character sample at iteration 0, drawn
# inside mingpt/model.py and so not compared), no loader workers
MINGPT_ARGS = ["--trainer.max_iters=21", "--trainer.num_workers=0", "--trainer.batch_size=4"]
MINGPT_ARGS += ["--model.model_type=None", "--model.n_layer=2", "--model.n_head=2"]
MINGPT_ARGS += ["--model.n_embd=32", "--data.block_size=16", "--system.work_dir='{tmp}'"]

# eriklindernoren/PyTorch-GAN: one epoch of the stub's 320 digits (5 batches of 64); each
# program makes ../../data/mnist, so it runs two folders down in the temporary one
GAN_DIR = "{tmp}/implementations/gan"

# karpathy/makemore: 21 steps (loss printed every 10; evaluation and sampling come at 200/500),
# small models, no loader workers; the train/test split (torch.randperm) is replayed
MAKEMORE_ARGS = ["-i", os.path.join(HERE, "makemore", "names.txt"), "-o", "{tmp}/out"]
MAKEMORE_ARGS += ["--num-workers", "0", "--max-steps", "21", "--n-layer", "2", "-b", "8"]
MAKEMORE_ARGS += ["--n-embd", "16", "--n-embd2", "16"]

# program -> (path, argv, check(ours, theirs), working directory: None for a temporary one,
# "{tmp}/..." for a folder inside it)
PROGRAMS = {
    "regression": ("regression/main.py", [], regression_converged, None),
    "mnist_cnn": ("mnist/main.py", [*MNIST_ARGS, "--dry-run"], same_numbers("Loss", 1e-4), None),
    "mnist_rnn": ("mnist_rnn/main.py", MNIST_ARGS, same_numbers("Loss", 1e-4), None),
    "bigram": ("bigram/bigram.py", [], same_output, "bigram"),
    "gpt": ("gpt/gpt.py", [], same_output, "gpt"),
    "dcgan": ("dcgan/main.py", DCGAN_ARGS, same_numbers("Loss_D", 1e-4), None),
    # lr 20 with clipping: the LSTM and GRU runs stay equal to the printed digits throughout; the
    # transformer's (larger steps through softmax attention) for its first 8 logged losses
    "word_lm_lstm": ("word_language_model/main.py", WORD_LM_ARGS, same_losses(), None),
    "word_lm_gru": (
        "word_language_model/main.py",
        [*WORD_LM_ARGS, "--model", "GRU"],
        same_losses(),
        None,
    ),
    "word_lm_transformer": (
        "word_language_model/main.py",
        [*WORD_LM_ARGS, "--model", "Transformer", "--nhead", "2"],
        same_losses(first=8),
        None,
    ),
    "makemore_transformer": ("makemore/makemore.py", MAKEMORE_ARGS, same_losses(), None),
    "makemore_gru": (
        "makemore/makemore.py",
        [*MAKEMORE_ARGS, "--type=gru"],
        same_losses(),
        None,
    ),
    "makemore_bow": (
        "makemore/makemore.py",
        [*MAKEMORE_ARGS, "--type=bow"],
        same_losses(),
        None,
    ),
    "mingpt_chargpt": ("mingpt/chargpt.py", MINGPT_ARGS, same_losses(rtol=1e-5), "mingpt"),
    "gan": ("pytorch_gan/gan/gan.py", ["--n_epochs", "1"], same_numbers("loss", 1e-5), GAN_DIR),
    # gradient penalty: autograd.grad(create_graph=True) of the critic at interpolated images
    "wgan_gp": (
        "pytorch_gan/wgan_gp/wgan_gp.py",
        ["--n_epochs", "1", "--n_critic", "2"],
        same_numbers("loss", 1e-5),
        GAN_DIR,
    ),
    # the generator and discriminator embed the class labels (nn.Embedding), MSE loss
    "cgan": ("pytorch_gan/cgan/cgan.py", ["--n_epochs", "1"], same_numbers("loss", 1e-5), GAN_DIR),
    "vae": ("vae/main.py", MNIST_ARGS[:6], same_numbers("[Ll]oss", 1e-6), None),
}


@pytest.fixture
def one_thread():
    """PyTorch on one thread: two on a shared 2-core machine run up to 10x slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_prints_the_same_losses_on_both_libraries(name, tmp_path, one_thread) -> None:
    path, argv, check, cwd = PROGRAMS[name]
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]  # outputs go to a temporary folder
    if cwd is None or cwd.startswith("{tmp}"):
        where = (cwd or "{tmp}").replace("{tmp}", str(tmp_path))
    else:
        where = os.path.join(HERE, cwd)  # (reads input.txt there)
    rec = harness.Recording()
    theirs = harness.run(os.path.join(HERE, path), argv, "torch", rec, where)
    ours = harness.run(os.path.join(HERE, path), argv, "glassgrad", rec, where)
    check(ours, theirs)


# pytorch/examples time_sequence_prediction: generate_sine_wave.py writes traindata.pt with
# torch.save (a NumPy array), train.py torch.loads it and fits two LSTMCells in float64 with LBFGS,
# printing every closure's loss. The published sizes (100 waves of 1000 points, a 1000-step
# forecast per step, a PDF plot per step) are shrunk by these substitutions, each of which must
# match exactly once; the model (51 hidden units, LBFGS lr 0.8) is unchanged.
TIME_SEQ = os.path.join(HERE, "time_sequence_prediction")
TIME_SEQ_EDITS = {
    "generate_sine_wave.py": [("L = 1000", "L = 30"), ("N = 100", "N = 6")],
    "train.py": [("future = 1000", "future = 20"), ("plt.savefig('predict%d.pdf'%i)", "pass")],
}


def _edited(name: str, where: str, folder: str = TIME_SEQ, edits: dict | None = None) -> str:
    """``folder/name`` with its substitutions made (each must match exactly once), written to
    ``where``; returns the new path."""
    with open(os.path.join(folder, name)) as f:
        source = f.read()
    for old, new in (TIME_SEQ_EDITS if edits is None else edits)[name]:
        assert source.count(old) == 1, (name, old)
        source = source.replace(old, new)
    path = os.path.join(where, name)
    with open(path, "w") as f:
        f.write(source)
    return path


def _torch_numpy_loading():
    """PyTorch >= 2.6 loads with weights_only=True, which refuses a pickled NumPy array unless
    its reconstruction functions are allowed (its documented way; glassgrad stores arrays as
    data, no pickle, and needs nothing)."""
    import torch

    arr = type(np.dtype(np.float64))
    return torch.serialization.safe_globals(
        [np._core.multiarray._reconstruct, np.ndarray, np.dtype, arr]
    )


def test_time_sequence_prediction_lbfgs_losses_match_torch(tmp_path) -> None:
    """Each library generates its own traindata.pt and trains on it (one LBFGS step of up to 20
    closure evaluations each); every closure loss and test loss agrees to 1e-9 in float64."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads on a shared 2-core machine run 10x slower
    generate = _edited("generate_sine_wave.py", str(tmp_path))
    train = _edited("train.py", str(tmp_path))
    rec, out = harness.Recording(), {}
    try:
        for lib in ("torch", "glassgrad"):
            where = tmp_path / lib
            where.mkdir()
            harness.run(generate, [], lib, harness.Recording(), str(where))
            assert (where / "traindata.pt").exists()
            with _torch_numpy_loading():
                out[lib] = harness.run(train, ["--steps", "1"], lib, rec, str(where))
    finally:
        torch.set_num_threads(threads)
    closure = r"^loss:"
    assert len(harness.numbers(out["torch"], closure)) >= 10  # LBFGS evaluated many closures
    same_numbers(closure, 1e-9)(out["glassgrad"], out["torch"])
    same_numbers("^test loss", 1e-9)(out["glassgrad"], out["torch"])


# pytorch/tutorials (https://github.com/pytorch/tutorials): the beginner examples fitting a cubic
# to sin(x) (raw autograd, a custom autograd.Function, nn.Sequential with manual updates, optim.SGD,
# a custom Module, and dynamic_net's random depth through Python's random module) and the
# Quickstart (FashionMNIST from the torchvision stand-in). All float32 as published, so the
# losses agree to float32 summation order (about 1e-6 relative), not bit for bit. dynamic_net runs
# 6000 of its 30000 steps; the others run as published.
TUTORIALS = os.path.join(HERE, "tutorials")
POLY = r"^\d+ |^Result"  # "99 209.958..." every 100 steps, then the fitted coefficients
TUTORIAL_EDITS = {"dynamic_net.py": [("for t in range(30000):", "for t in range(6000):")]}
TUTORIAL_PROGRAMS = {
    "polynomial_autograd.py": same_numbers(POLY, 1e-5),
    "polynomial_custom_function.py": same_numbers(POLY, 1e-5),
    "polynomial_nn.py": same_numbers(POLY, 1e-5),
    "polynomial_optim.py": same_numbers(POLY, 1e-5),
    "polynomial_module.py": same_numbers(POLY, 1e-5),
    "dynamic_net.py": same_numbers(POLY, 1e-5),
    "quickstart_tutorial.py": same_numbers("loss", 1e-5),
    # the Blitz's LeNet: one forward, an MSE loss, the graph walked through next_functions, and
    # conv1.bias.grad; all printed the same (but the nodes' addresses)
    "neural_networks_tutorial.py": lambda ours, theirs: same_output(
        *(re.sub(r" at 0x[0-9a-f]+", "", out) for out in (ours, theirs))
    ),
}


@pytest.mark.parametrize("name", sorted(TUTORIAL_PROGRAMS))
def test_tutorial_prints_the_same_losses_on_both_libraries(name, tmp_path) -> None:
    import torch

    path = os.path.join(TUTORIALS, name)
    if name in TUTORIAL_EDITS:
        path = _edited(name, str(tmp_path), TUTORIALS, TUTORIAL_EDITS)
    rec = harness.Recording()
    torch.manual_seed(0)  # the same weights each time: the checks hold for this run
    theirs = harness.run(path, [], "torch", rec, str(tmp_path))
    ours = harness.run(path, [], "glassgrad", rec, str(tmp_path))
    assert len(harness.numbers(theirs, r"^\d+ |loss|tensor")) >= 3, theirs  # it ran and reported
    TUTORIAL_PROGRAMS[name](ours, theirs)


def _mnist_pickle(where: str, train: int = 256, valid: int = 128) -> None:
    """data/mnist/mnist.pkl.gz as nn_tutorial.py downloads it: ((x, y) train, valid, test) with
    x float32 rows of 784 in [0, 1] and y int64; local digits (8x8, scaled up to 28x28)."""
    import gzip
    import pickle

    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.pad(np.kron(bunch.images, np.ones((3, 3))) / 16.0, ((0, 0), (2, 2), (2, 2)))
    x, y = images.reshape(-1, 784).astype(np.float32), bunch.target.astype(np.int64)
    cuts = [0, train, train + valid, train + 2 * valid]
    parts = tuple((x[a:b], y[a:b]) for a, b in itertools.pairwise(cuts))
    os.makedirs(os.path.join(where, "data", "mnist"))
    with gzip.open(os.path.join(where, "data", "mnist", "mnist.pkl.gz"), "wb") as f:
        pickle.dump(parts, f)


def test_nn_tutorial_prints_the_same_losses_on_both_libraries(tmp_path) -> None:
    """pytorch/tutorials "What is torch.nn really?" run as published on 256 training and 128
    validation digits: a hand-written log_softmax and nll (``input[range(n), target]``), manual
    SGD under no_grad, then nn.Module, nn.Linear, optim, TensorDataset, DataLoader, three CNNs
    (F.avg_pool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, Lambda layers, WrappedDataLoader). Every
    printed loss agrees; lr 0.5 overshoots on this small set (the loss rises to about 4 before
    it falls), which grows float32 rounding to about 1e-5 relative by the end."""
    import torch

    _mnist_pickle(str(tmp_path))
    path = os.path.join(TUTORIALS, "nn_tutorial.py")
    rec = harness.Recording()
    torch.manual_seed(0)  # the same run each time: the tolerance holds for this one
    theirs = harness.run(path, [], "torch", rec, str(tmp_path))
    ours = harness.run(path, [], "glassgrad", rec, str(tmp_path))
    losses = r"^(\d )?tensor\(\d|^\d \d"  # "tensor(2.39, grad_fn=...)", "0 tensor(3.3)", "1 0.86"
    assert len(harness.numbers(theirs, losses)) >= 30, theirs
    same_numbers(losses, 1e-4)(ours, theirs)
    # everything else (the data's shapes and printed tensors) is printed the same
    other = [line for line in theirs.splitlines() if not re.search(losses, line)]
    assert other == [line for line in ours.splitlines() if not re.search(losses, line)]


# karpathy/nanoGPT: data/shakespeare_char/prepare.py encodes the bundled text (the first 12 kB of
# tinyshakespeare) to train.bin/val.bin/meta.pkl; train.py (unchanged, its configurator.py
# overrides from the command line) trains a 2-layer GPT on CPU in float32 with gradient
# accumulation, grad clipping, the warmup+cosine schedule, GradScaler(enabled=False), AdamW param
# groups and checkpoints; sample.py loads the checkpoint and generates greedily (top_k=1, so the
# text depends on the probabilities only).
NANOGPT = os.path.join(HERE, "nanogpt")
LIBS = ("glassgrad", "torch")
NANOGPT_ARGS = ["--device=cpu", "--compile=False", "--dtype=float32", "--bias=True"]
NANOGPT_ARGS += ["--dataset=shakespeare_char", "--n_layer=2", "--n_head=2", "--n_embd=32"]
NANOGPT_ARGS += ["--block_size=16", "--batch_size=4", "--max_iters=6", "--eval_interval=3"]
NANOGPT_ARGS += ["--eval_iters=2", "--gradient_accumulation_steps=2", "--warmup_iters=2"]
NANOGPT_ARGS += ["--lr_decay_iters=6", "--learning_rate=2e-2"]


def test_nanogpt_train_and_sample_match_torch(tmp_path, one_thread) -> None:
    """Every train/val and iteration loss agrees to the printed 4 decimals (one unit of the last
    digit: a float32 mean can round either way); the greedy samples are equal."""
    shutil.copytree(NANOGPT, tmp_path, dirs_exist_ok=True)
    prepare = os.path.join(tmp_path, "data", "shakespeare_char", "prepare.py")
    harness.run(prepare, [], "torch", harness.Recording(), str(tmp_path))
    train, sample = os.path.join(tmp_path, "train.py"), os.path.join(tmp_path, "sample.py")
    out: dict[str, str] = {}
    rec, rec_sample = harness.Recording(), harness.Recording()
    for lib in ("torch", "glassgrad"):
        ckpt = f"--out_dir={tmp_path / lib}"
        out[lib] = harness.run(train, [*NANOGPT_ARGS, ckpt], lib, rec, str(tmp_path))
        assert (tmp_path / lib / "ckpt.pt").exists()
        args = [ckpt, "--device=cpu", "--dtype=float32", "--num_samples=2"]
        args += ["--max_new_tokens=20", "--top_k=1"]
        out[lib + " sample"] = harness.run(sample, args, lib, rec_sample, str(tmp_path))
    assert len(re.findall(r"iter \d+: loss", out["torch"])) == 7
    same_losses(rtol=3e-5)(out["glassgrad"], out["torch"])
    ours, theirs = (out[lib + " sample"].partition("number of parameters")[2] for lib in LIBS)
    assert ours.count("---------------") == 2
    same_output(ours, theirs)  # (the lines before name each library's own checkpoint)
