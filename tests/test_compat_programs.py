"""Public PyTorch programs, run unchanged on PyTorch and on glassgrad: the same printed losses.

Each program's source sits in tests/compat/programs/ as published (a header names its origin;
where a program downloads a dataset or is sized for a GPU, only its data source or command-line
sizes differ, and the header says so). ``tests/compat/harness.py`` runs it once with PyTorch and
once with ``import torch`` resolved to glassgrad, giving both the same initial weights and the
same random data, and the numbers on the lines that report losses are compared. Programs in
``programs/own/`` were written for this suite, in the manner of common training scripts.
"""

from __future__ import annotations

import os
import re
import warnings

import numpy as np
import pytest

from glassgrad.compiler import CompileWarning
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


def same_lines(rtol: float):
    """Every printed line the same once its numbers are taken out (tags, paths, how tensors
    print: ``1.2573e-04`` is not ``0.0001``), and the numbers within ``rtol``."""

    def check(ours: str, theirs: str) -> None:
        assert harness.NUMBER.sub("#", ours) == harness.NUMBER.sub("#", theirs), (
            f"glassgrad printed:\n{ours}\n--- PyTorch printed:\n{theirs}"
        )
        a, b = harness.numbers(ours, "."), harness.numbers(theirs, ".")
        np.testing.assert_allclose(a, b, rtol=rtol, atol=0, err_msg=f"{ours}\n{theirs}")

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
    "vae": ("vae/main.py", MNIST_ARGS[:6], same_numbers("[Ll]oss", 1e-6), None),
    # programs written for this suite (own/): a small GPT with checkpoint and resume, and a
    # names generator with three model types
    "own_tiny_gpt": ("own/tiny_gpt.py", [], same_output, None),
    "own_tiny_gpt_bias": ("own/tiny_gpt.py", ["--bias", "--old-scaler"], same_output, None),
    **{
        f"own_names_{kind}": ("own/names_models.py", ["--type", kind], same_losses(), None)
        for kind in ("bigram", "mlp", "gru")
    },
    # and older Variable/FloatTensor GAN code and the
    # fitting-sin(x) tutorial styles
    **{
        f"own_{kind}": (
            "own/gan_variants.py",
            ["--kind", kind],
            same_numbers("loss|sample", 1e-5),
            None,
        )
        for kind in ("gan", "wgan_gp", "cgan")
    },
    **{
        f"own_fit_{variant}": (
            "own/fitting_series.py",
            ["--variant", variant],
            same_numbers("loss|Result", 1e-5),
            None,
        )
        for variant in ("raw", "function", "sequential", "module", "dynamic")
    },
    # RMSprop's normalised steps at a fixed lr: the coefficients near 0 (a, c) jitter around it
    # from early on and the loss too once near the optimum (~step 1300), with float32 rounding
    # picking the jitter; the losses before that are compared
    "own_fit_optim": (
        "own/fitting_series.py",
        ["--variant", "optim", "--steps", "1200"],
        same_losses(rtol=1e-5),
        None,
    ),
    # one-hot letter RNNs with hand-written SGD: a name's language, and names for a language
    # (guesses, confusion and greedy samples printed too: every line the same)
    **{
        f"own_char_rnn_{task}": ("own/char_rnn.py", ["--task", task], same_output, None)
        for task in ("classify", "generate")
    },
    # GRU encoder-decoder with additive attention, teacher forcing and greedy translations
    "own_seq2seq_attention": ("own/seq2seq_attention.py", [], same_losses(), None),
    # a bidirectional-LSTM encoder-decoder with einsum attention, outputs written step by step
    # into a zeros tensor, then nn.Transformer with a causal mask and key padding; Adam's early
    # steps are sign-like, so float32 rounding shows at 1e-6 relative in the transformer's losses
    "own_seq2seq_lstm_transformer": (
        "own/seq2seq_lstm_transformer.py",
        [],
        same_losses(rtol=1e-5),
        None,
    ),
    # float64 LSTMCell stack unrolled over sine waves, L-BFGS with a closure, then extrapolation
    "own_sine_lstm_lbfgs": ("own/sine_lstm_lbfgs.py", [], same_losses(rtol=1e-9), None),
    # padded sentences through a pre-norm Transformer encoder with a key padding mask, masked
    # mean pooling, label smoothing, AdamW with LambdaLR warmup and clipping
    "own_text_transformer": ("own/text_transformer_classifier.py", [], same_losses(), None),
    # unsorted packed batches through a 2-layer bidirectional LSTM, ignore_index on the padding,
    # ReduceLROnPlateau on the held-out loss and early stopping (both fire, it stops at epoch 24)
    "own_lstm_packed_tagger": ("own/lstm_packed_tagger.py", [], same_losses(rtol=1e-5), None),
    # CIFAR-style CNN (BatchNorm, dropout, global pooling), Nesterov SGD under OneCycleLR per
    # batch, no_grad accuracy, a checkpoint reloaded into a fresh model; once with two loader
    # worker processes. A peak lr of 0.005: at 0.02 and above, float32 rounding (ReLU/max-pool
    # ties) grows to 1e-4 within two epochs
    "own_cnn_classifier": ("own/cnn_classifier.py", [], same_losses(rtol=1e-5), None),
    # a two-layer GCN: a sparse COO adjacency (repeats summed by coalesce, self-loops added
    # sparse + sparse, D^-1/2 A D^-1/2 through torch.sparse.mm), sparse features, torch.spmm
    # layers, Adam with weight decay on a training mask
    "own_graph_conv": ("own/graph_conv.py", [], same_losses(rtol=1e-5), None),
    # a CNN trained under torch.profiler (a schedule, record_function, on_trace_ready reading
    # each cycle's table), then a no-grad pass under torch.autograd.profiler
    "own_profiled_training": ("own/profiled_training.py", [], same_lines(1e-5), None),
    "own_cnn_classifier_workers": (
        "own/cnn_classifier.py",
        ["--epochs", "1", "--workers", "2"],
        same_losses(rtol=1e-5),
        None,
    ),
    # lecture-notebook habits: keepdims=/axis= names, a linspace learning rate, histograms of
    # activations, a saturated sigmoid under BCELoss (outputs near 1e-19) and losses printed as
    # tensors (small ones in scientific notation); histogram edges follow last-bit differences
    "own_notebook_habits": (
        "own/notebook_habits.py",
        [],
        same_numbers("loss|histogram|peak|sums|prob|output", 1e-4),
        None,
    ),
    # BiLSTM-CRF tagger: forward algorithm with logsumexp, Viterbi through max(dim)'s values and
    # indices, // and % on an index tensor, torch.mul(..., out=), tiny probabilities printed
    # in scientific notation (a decoded score printed to 4 digits may round apart: rtol 1e-4)
    "own_bilstm_crf_tagger": ("own/bilstm_crf_tagger.py", [], same_lines(1e-4), None),
    # torch.func and forward mode: an ensemble through stack_module_state and vmap, per-sample
    # gradients by vmap(grad), dual tensors on a module's parameters against jvp, then a spatial
    # transformer started at the identity (sampling points on pixel centres) trained a few steps
    "own_function_transforms": ("own/function_transforms.py", [], same_lines(1e-5), None),
    # a Llama-style character model: RMSNorm, rotary embeddings from a complex table (outer of
    # int positions, polar, view_as_complex) or its cos/sin halves, grouped-query attention,
    # SwiGLU from one split projection, tied embeddings, AdamW groups, gradient accumulation,
    # cosine lr and greedy decoding; float32 rounding stays below 5e-7 relative over 12 steps
    **{
        f"own_tiny_llama_{rope}": (
            "own/tiny_llama.py",
            ["--rope", rope],
            same_losses(rtol=2e-6),
            None,
        )
        for rope in ("complex", "real")
    },
    # a CLIP-style dual encoder: a conv stem, a Glow-style invertible 1x1 mixing from
    # linalg.lu_factor/lu_unpack, attention pooling through F.multi_head_attention_forward, a
    # causal MultiheadAttention text tower read at the eot token, a learned 0-d logit_scale
    # (clamped), symmetric cross-entropy, AdamW groups under CosineAnnealingLR
    "own_tiny_clip": ("own/tiny_clip.py", [], same_losses(rtol=2e-6), None),
    # CIFAR architectures in the popular repositories' style (pre-activation residual, inverted
    # residual with depthwise convs and ReLU6, channel split + shuffle, dense concatenation,
    # inception with squeeze-excitation and swish, dual path), SGD with momentum and weight
    # decay under cosine annealing, a checkpoint dict resumed into a fresh model and every
    # Conv/BatchNorm pair folded by nn.utils.fuse_conv_bn_eval. In float64 every arch agrees to
    # 1e-14; in float32, batch statistics of 16 images amplify rounding, most in MobileNetV2's
    # depthwise blocks (to 2e-4 by the fourth step, as PyTorch's own float32 drifts from float64)
    **{
        f"own_cifar_zoo_{arch}": (
            "own/cifar_zoo.py",
            ["--arch", arch],
            same_losses(rtol=1e-3 if arch == "mobile" else 2e-5),
            None,
        )
        for arch in ("preact", "mobile", "shuffle", "dense", "inception", "dpn")
    },
    # text models of the sentiment and translation notebooks: Conv2d filters over embedded
    # words with max_pool1d over time, FastText bigrams with avg_pool2d, a frozen
    # Embedding.from_pretrained unfrozen after an epoch under a packed bidirectional LSTM, and a
    # convolutional seq2seq (GLU, causal padding, attention, greedy decoding): every line
    **{
        f"own_text_conv_{model}": (
            "own/text_conv_models.py",
            ["--model", model],
            same_lines(1e-5),
            None,
        )
        for model in ("cnn", "fasttext", "lstm", "convs2s")
    },
    # Conv2d encoder, ConvTranspose2d (stride 2, output_padding) decoder, Adam under StepLR
    **{
        f"own_conv_autoencoder_{loss}": (
            "own/conv_autoencoder.py",
            ["--loss", loss],
            same_losses(rtol=1e-6),
            None,
        )
        for loss in ("bce", "mse")
    },
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


def _compiled(model_line: str, variable: str = "model"):
    """The program with ``model = torch.compile(model)`` after ``model_line``, as nanoGPT's
    ``--compile`` does."""

    def edit(source: str) -> str:
        assert model_line in source
        return source.replace(model_line, f"{model_line}{variable} = torch.compile({variable})\n")

    return edit


def test_a_program_that_compiles_its_model_prints_what_it_prints_uncompiled(tmp_path) -> None:
    """Karpathy's gpt.py with ``torch.compile(model)``: dropout on, glassgrad's own weights
    and draws in both runs; the forward replays as generated code (the backward outside the
    call through ``CompiledFunctionBackward``) and every loss and the sampled text agree."""
    where = os.path.join(HERE, "gpt")
    path = os.path.join(HERE, "gpt", "gpt.py")
    eager = harness.run(path, [], "glassgrad", None, where)
    add_compile = _compiled("m = model.to(device)\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)  # no fallback to eager
        compiled = harness.run(
            path,
            [],
            "glassgrad",
            None,
            where,
            edit=lambda s: add_compile(s) + "\nprint('stats', model.stats)\n",
        )
    compiled, stats = compiled.rsplit("stats ", 1)
    same_output(compiled, eager)
    assert len(harness.numbers(eager, "loss")) >= 6
    # 21 training steps (two recorded), 3 evaluations of 2 x 4 batches (eval mode, no_grad)
    assert stats.strip() == "{'recordings': 4, 'replays': 41, 'programs': 2, 'eager_groups': 0}"


# program -> (the line after which the script compiles its model(s), what it adds)
COMPILED = {
    "mnist_rnn": ("    model = Net().to(device)\n", "    model = torch.compile(model)\n"),
    "vae": ("model = VAE().to(device)\n", "model = torch.compile(model)\n"),
    "word_lm_lstm": (
        "    model = RNNModel(args.model, ntokens, args.emsize, args.nhid, args.nlayers, "
        "args.dropout, args.tied).to(device)\n",
        "    model = torch.compile(model)\n",
    ),
    "dcgan": (
        "netD = Discriminator(ngpu).to(device)\n",
        "netD = torch.compile(netD)\nnetG = torch.compile(netG)\n",
    ),
    "own_text_transformer": (
        "model = Classifier(len(vocab), args.d_model, args.nhead, args.ff, args.dropout)\n",
        "model = torch.compile(model)\n",
    ),
    "own_names_gru": (
        "    model = GRUNames(vocab, args.n_embd, args.n_hidden)\n",
        "    model = torch.compile(model)\n",
    ),
}


@pytest.mark.parametrize("name", sorted(COMPILED))
def test_programs_that_compile_their_models_print_what_they_print_uncompiled(
    name, tmp_path, monkeypatch
) -> None:
    """Each program with ``torch.compile(model)`` added, as scripts do, against itself
    uncompiled (both on glassgrad, its own weights and draws): the same losses, every forward
    replayed as generated code once recorded (an RNN's hidden state passed on between batches,
    a GAN's two models, a model saved whole with ``torch.save(model)`` and loaded back)."""
    import glassgrad.compiler.compiled as compiled_module

    path, argv, check, cwd = PROGRAMS[name]
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    where = str(tmp_path) if cwd is None else os.path.join(HERE, cwd)
    line, added = COMPILED[name]
    eager = harness.run(os.path.join(HERE, path), argv, "glassgrad", None, where)
    replays = []
    replay = compiled_module.replay
    monkeypatch.setattr(compiled_module, "replay", lambda *a: replays.append(1) or replay(*a))

    def edit(source: str) -> str:
        assert line in source
        return source.replace(line, line + added)

    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        compiled = harness.run(os.path.join(HERE, path), argv, "glassgrad", None, where, edit=edit)
    check(compiled, eager)
    assert len(replays) >= 2
