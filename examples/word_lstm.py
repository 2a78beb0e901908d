"""A word-level LSTM language model on a few poems: embedding, LSTM, linear decoder.

Trained as pytorch/examples' word_language_model trains it: the text is one stream of word ids
cut into ``--batch`` parallel columns; truncated backpropagation through time runs ``--bptt``
words at a time and carries the hidden state on to the next window, ``.detach()``ed so that the
graph (and the cost of backward) does not grow with the text; the gradient's global norm is
clipped (``clip_grad_norm_``) before each SGD step. ``--tied`` makes the decoder share the
embedding's weight matrix. The yardstick is the unigram baseline: the cross-entropy of always
predicting each word's frequency; below it the model uses the context.

The program is written as a PyTorch program: ``import glassgrad as torch`` is its only change
(tests/test_examples.py runs the same text on PyTorch and compares the losses).

    python examples/word_lstm.py              # 150 steps
    python examples/word_lstm.py --steps 10 --tied
    python examples/word_lstm.py --compile    # each step run as generated NumPy code
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np

import glassgrad as torch
import glassgrad.nn as nn

TEXT = Path(__file__).resolve().parent / "data" / "poems.txt"


class RNNModel(nn.Module):
    """Embedding -> LSTM -> linear decoder over the vocabulary."""

    def __init__(self, ntoken: int, ninp: int, nhid: int, nlayers: int, tied: bool) -> None:
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers)
        self.decoder = nn.Linear(nhid, ntoken)
        if tied:
            if nhid != ninp:
                raise ValueError(f"--tied needs --nhid equal to --emsize, got {nhid} and {ninp}")
            self.decoder.weight = self.encoder.weight
        self.nlayers, self.nhid = nlayers, nhid

    def forward(self, input: Any, hidden: Any) -> tuple[Any, Any]:
        output, hidden = self.rnn(self.encoder(input), hidden)
        return self.decoder(output), hidden

    def init_hidden(self, bsz: int) -> tuple[Any, Any]:
        weight = next(self.parameters())
        return (
            weight.new_zeros(self.nlayers, bsz, self.nhid),
            weight.new_zeros(self.nlayers, bsz, self.nhid),
        )


def corpus(max_words: int) -> tuple[np.ndarray, list[str]]:
    """The first ``max_words`` words of the poems (lower-cased, one <eos> per line) as ids."""
    words: list[str] = []
    for line in TEXT.read_text(encoding="utf-8").lower().splitlines():
        if line.strip():
            words += [*line.split(), "<eos>"]
        if len(words) >= max_words:
            break
    vocab = sorted(set(words))
    index = {w: i for i, w in enumerate(vocab)}
    return np.array([index[w] for w in words], dtype=np.int64), vocab


def batchify(ids: np.ndarray, bsz: int) -> np.ndarray:
    """(steps, bsz): column j is the j-th slice of the stream."""
    n = len(ids) // bsz
    return np.ascontiguousarray(ids[: n * bsz].reshape(bsz, n).T)


def main(
    argv: list[str] | None = None, initial_state: dict | None = None, compile: bool = False
) -> dict[str, Any]:
    """Train; return the losses per step and the initial weights (``initial_state`` replaces
    them: how a test starts two libraries from the same weights). ``compile=True`` (or
    ``--compile``) wraps the training step in ``torch.compile``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--words", type=int, default=3000)
    ap.add_argument("--emsize", type=int, default=32)
    ap.add_argument("--nhid", type=int, default=32)
    ap.add_argument("--nlayers", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--bptt", type=int, default=12)
    ap.add_argument("--lr", type=float, default=5.0)
    ap.add_argument("--clip", type=float, default=0.25)
    ap.add_argument("--tied", action="store_true")
    ap.add_argument("--double", action="store_true", help="train in float64")
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compile", action="store_true", help="compile the training step")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    ids, vocab = corpus(args.words)
    data = batchify(ids, args.batch)
    freq = np.bincount(ids, minlength=len(vocab)) / len(ids)
    unigram = float(-(freq * np.log(freq)).sum())
    model = RNNModel(len(vocab), args.emsize, args.nhid, args.nlayers, args.tied)
    if args.double:
        model.double()
    if initial_state is not None:
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in initial_state.items()})
    initial = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    print(f"{len(ids)} words, vocabulary {len(vocab)}, unigram baseline {unigram:.3f} nats")

    def train_step(x: Any, y: Any, hidden: Any) -> tuple[float, Any]:
        optimizer.zero_grad()
        output, hidden = model(x, hidden)
        loss = criterion(output.view(-1, len(vocab)), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        return loss.item(), hidden

    if compile or args.compile:
        train_step = torch.compile(train_step)
    losses: list[float] = []
    hidden = model.init_hidden(args.batch)
    i = 0
    for step in range(args.steps):
        if i >= len(data) - 1:  # the end of the text: start over with a fresh state
            i, hidden = 0, model.init_hidden(args.batch)
        seq_len = min(args.bptt, len(data) - 1 - i)
        x = torch.from_numpy(data[i : i + seq_len])
        y = torch.from_numpy(data[i + 1 : i + 1 + seq_len].reshape(-1))
        hidden = tuple(h.detach() for h in hidden)  # truncate backpropagation here
        loss, hidden = train_step(x, y, hidden)
        losses.append(loss)
        i += seq_len
        if step % args.log_every == 0 or step == args.steps - 1:
            print(f"step {step:4d}  loss {losses[-1]:.4f}  ppl {math.exp(losses[-1]):8.2f}")
    result = {"losses": losses, "initial_state": initial, "unigram": unigram}
    if compile or args.compile:  # how the step's calls ran: recorded or replayed as NumPy code
        result["compile_stats"] = train_step.stats
    return result


if __name__ == "__main__":
    main()
