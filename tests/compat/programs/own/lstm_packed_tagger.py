"""A toy part-of-speech tagger with a packed bidirectional LSTM, for glassgrad's compat suite.

Made-up sentences tagged word by word; padded batches are packed (unsorted) through a two-layer
bidirectional LSTM, the padded positions' targets are -100 and ignored by the loss. Adam with
ReduceLROnPlateau on the held-out loss, and early stopping when it stops improving.
"""

import argparse

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

TAGGED = [
    "the/DET dog/NOUN runs/VERB",
    "a/DET cat/NOUN sleeps/VERB quietly/ADV",
    "the/DET small/ADJ dog/NOUN barks/VERB loudly/ADV",
    "my/DET old/ADJ cat/NOUN eats/VERB fish/NOUN",
    "birds/NOUN sing/VERB",
    "the/DET red/ADJ bird/NOUN flies/VERB away/ADV",
    "a/DET happy/ADJ child/NOUN reads/VERB a/DET book/NOUN",
    "children/NOUN play/VERB outside/ADV",
    "the/DET tall/ADJ man/NOUN walks/VERB slowly/ADV",
    "a/DET woman/NOUN writes/VERB letters/NOUN",
    "dogs/NOUN chase/VERB cats/NOUN",
    "the/DET quiet/ADJ river/NOUN flows/VERB gently/ADV",
    "my/DET friend/NOUN sings/VERB well/ADV",
    "the/DET cat/NOUN chases/VERB a/DET small/ADJ bird/NOUN",
    "old/ADJ men/NOUN read/VERB books/NOUN",
    "a/DET dog/NOUN sleeps/VERB",
    "the/DET child/NOUN eats/VERB quickly/ADV",
    "a/DET red/ADJ fish/NOUN swims/VERB",
    "the/DET woman/NOUN reads/VERB a/DET letter/NOUN slowly/ADV",
    "happy/ADJ birds/NOUN fly/VERB",
]

PAD, UNK, IGNORE = 0, 1, -100

parser = argparse.ArgumentParser(description="packed BiLSTM tagger")
parser.add_argument("--embed", type=int, default=16)
parser.add_argument("--hidden", type=int, default=20)
parser.add_argument("--dropout", type=float, default=0.2)
parser.add_argument("--epochs", type=int, default=30)
parser.add_argument("--batch-size", type=int, default=5)
parser.add_argument("--lr", type=float, default=0.02)
parser.add_argument("--patience", type=int, default=4)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

torch.manual_seed(args.seed)

sentences = [[pair.rsplit("/", 1) for pair in line.split()] for line in TAGGED]
words = ["<pad>", "<unk>"] + sorted({w for s in sentences for w, _ in s})
tags = sorted({t for s in sentences for _, t in s})
word_ix = {w: i for i, w in enumerate(words)}
tag_ix = {t: i for i, t in enumerate(tags)}


def encode(sentence):
    x = torch.tensor([word_ix.get(w, UNK) for w, _ in sentence], dtype=torch.long)
    y = torch.tensor([tag_ix[t] for _, t in sentence], dtype=torch.long)
    return x, y


def batches(data, size, shuffle):
    order = torch.randperm(len(data)).tolist() if shuffle else list(range(len(data)))
    for start in range(0, len(order), size):
        chunk = [data[i] for i in order[start : start + size]]
        xs, ys = zip(*chunk)
        lengths = torch.tensor([len(x) for x in xs])
        yield (
            pad_sequence(list(xs), batch_first=True, padding_value=PAD),
            pad_sequence(list(ys), batch_first=True, padding_value=IGNORE),
            lengths,
        )


class Tagger(nn.Module):
    def __init__(self, nwords, ntags, embed, hidden, dropout):
        super().__init__()
        self.embed = nn.Embedding(nwords, embed, padding_idx=PAD)
        self.lstm = nn.LSTM(
            embed, hidden, num_layers=2, bidirectional=True, batch_first=True, dropout=dropout
        )
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, ntags)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(
            self.embed(x), lengths, batch_first=True, enforce_sorted=False
        )
        output, _ = self.lstm(packed)
        padded, out_lengths = pad_packed_sequence(output, batch_first=True, total_length=x.size(1))
        assert out_lengths.tolist() == lengths.tolist()
        return self.out(self.drop(padded))


data = [encode(s) for s in sentences]
train_data, eval_data = data[:15], data[15:]
model = Tagger(len(words), len(tags), args.embed, args.hidden, args.dropout)
criterion = nn.CrossEntropyLoss(ignore_index=IGNORE)
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
    optimizer, mode="min", factor=0.5, patience=1
)


def run_epoch(data, train):
    model.train(train)
    total, count, correct = 0.0, 0, 0
    with torch.set_grad_enabled(train):
        for x, y, lengths in batches(data, args.batch_size, shuffle=train):
            logits = model(x, lengths)
            loss = criterion(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
            if train:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            n = int((y != IGNORE).sum())
            total += loss.item() * n
            count += n
            correct += int(((logits.argmax(-1) == y) & (y != IGNORE)).sum())
    return total / count, correct / count


best, bad_epochs, best_state = float("inf"), 0, None
for epoch in range(1, args.epochs + 1):
    train_loss, train_acc = run_epoch(train_data, train=True)
    eval_loss, eval_acc = run_epoch(eval_data, train=False)
    scheduler.step(eval_loss)
    print(
        f"epoch {epoch:2d} train loss {train_loss:.8f} eval loss {eval_loss:.8f} "
        f"eval accuracy {eval_acc:.3f} lr {optimizer.param_groups[0]['lr']:.5f}"
    )
    if eval_loss < best - 1e-4:
        best, bad_epochs = eval_loss, 0
        best_state = {k: v.clone() for k, v in model.state_dict().items()}
    else:
        bad_epochs += 1
        if bad_epochs >= args.patience:
            print(f"early stopping after epoch {epoch}: best eval loss {best:.8f}")
            break

model.load_state_dict(best_state)
eval_loss, eval_acc = run_epoch(eval_data, train=False)
print(f"restored best model: eval loss {eval_loss:.8f} accuracy {eval_acc:.3f}")
x, _ = encode([("the", "DET"), ("happy", "ADJ"), ("dog", "NOUN"), ("sings", "VERB")])
model.eval()
with torch.no_grad():
    guess = model(x.unsqueeze(0), torch.tensor([len(x)])).argmax(-1)[0]
print("the happy dog sings ->", " ".join(tags[i] for i in guess.tolist()))
