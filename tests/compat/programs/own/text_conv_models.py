"""Convolutional and frozen-embedding text models in the style of the popular sentiment-analysis
and translation notebooks, written for glassgrad's compatibility suite.

``--model`` picks one: ``cnn`` (Conv2d filters of several widths over the embedded sentence,
max-pooled over time, BCEWithLogitsLoss), ``fasttext`` (bigrams appended to each sentence,
embeddings averaged with avg_pool2d), ``lstm`` (nn.Embedding.from_pretrained, frozen for the
first epoch, a packed bidirectional LSTM over unsorted lengths, three classes) and ``convs2s``
(a convolutional encoder-decoder: GLU blocks with scaled residuals, causal left padding in the
decoder, dot-product attention against the encoder's outputs, greedy decoding). The data is a
small synthetic corpus; "pretrained" vectors are drawn with NumPy.
"""

import argparse
import itertools
import math
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="cnn", choices=["cnn", "fasttext", "lstm", "convs2s"])
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--batch-size", type=int, default=8)
parser.add_argument("--emb-dim", type=int, default=16)
args = parser.parse_args()

SEED = 1234
random.seed(SEED)
np.random.seed(SEED)
torch.manual_seed(SEED)
torch.backends.cudnn.deterministic = True
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

# ---- a synthetic corpus ----------------------------------------------------------------------
rng = np.random.default_rng(0)
NEUTRAL = "the a film movie plot actor story it was is and of scene ending".split()
MOODS = [["good", "great", "fun", "moving"], ["bad", "dull", "boring", "awful"], ["odd", "long"]]
n_classes = 3 if args.model == "lstm" else 2


def sentence(label):
    n = int(rng.integers(3, 12))
    words = list(rng.choice(NEUTRAL, size=n))
    for _ in range(int(rng.integers(1, 3))):
        words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(MOODS[label])))
    return words


def with_bigrams(words):
    """The words, then each distinct adjacent pair once, in order of first appearance."""
    pairs = dict.fromkeys(f"{a} {b}" for a, b in itertools.pairwise(words))
    return words + list(pairs)


examples = []
for _ in range(64):
    label = int(rng.integers(0, n_classes))
    tokens = sentence(label)
    if args.model == "fasttext":
        tokens = with_bigrams(tokens)
    examples.append((tokens, label))
train_data, valid_data = examples[:48], examples[48:]

itos = ["<unk>", "<pad>", "<sos>", "<eos>"]
counts = {}
for tokens, _ in train_data:
    for t in tokens:
        counts[t] = counts.get(t, 0) + 1
itos += sorted(counts, key=lambda w: (-counts[w], w))
stoi = {s: i for i, s in enumerate(itos)}
UNK_IDX, PAD_IDX, SOS_IDX, EOS_IDX = 0, 1, 2, 3
pretrained = torch.tensor(rng.normal(0.0, 0.5, (len(itos), args.emb_dim)), dtype=torch.float32)


def batches(data, batch_size, min_len=1):
    for i in range(0, len(data), batch_size):
        chunk = data[i : i + batch_size]
        ids = [[stoi.get(t, UNK_IDX) for t in tokens] for tokens, _ in chunk]
        lengths = torch.tensor([len(x) for x in ids])
        width = max(min_len, int(lengths.max()))
        text = torch.full((len(chunk), width), PAD_IDX, dtype=torch.long)
        for row, x in enumerate(ids):
            text[row, : len(x)] = torch.tensor(x)
        yield text.to(device), lengths, torch.tensor([label for _, label in chunk]).to(device)


# ---- classifiers -----------------------------------------------------------------------------
class WordCNN(nn.Module):
    def __init__(self, vocab_size, embedding_dim, n_filters, filter_sizes, output_dim, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_IDX)
        self.convs = nn.ModuleList(
            [nn.Conv2d(1, n_filters, kernel_size=(fs, embedding_dim)) for fs in filter_sizes]
        )
        self.fc = nn.Linear(len(filter_sizes) * n_filters, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text):
        embedded = self.embedding(text).unsqueeze(1)  # [batch, 1, sent len, emb dim]
        conved = [F.relu(conv(embedded)).squeeze(3) for conv in self.convs]
        pooled = [F.max_pool1d(conv, conv.shape[2]).squeeze(2) for conv in conved]
        cat = self.dropout(torch.cat(pooled, dim=1))
        return self.fc(cat)


class FastText(nn.Module):
    def __init__(self, vocab_size, embedding_dim, output_dim):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD_IDX)
        self.fc = nn.Linear(embedding_dim, output_dim)

    def forward(self, text):
        embedded = self.embedding(text)  # [batch, sent len, emb dim]
        pooled = F.avg_pool2d(embedded, (embedded.shape[1], 1)).squeeze(1)
        return self.fc(pooled)


class LSTMClassifier(nn.Module):
    def __init__(self, vectors, hidden_dim, output_dim, n_layers, dropout):
        super().__init__()
        self.embedding = nn.Embedding.from_pretrained(vectors, freeze=True, padding_idx=PAD_IDX)
        self.rnn = nn.LSTM(
            vectors.shape[1], hidden_dim, n_layers, bidirectional=True, dropout=dropout,
            batch_first=True,
        )  # fmt: skip
        self.fc = nn.Linear(hidden_dim * 2, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text, lengths):
        embedded = self.dropout(self.embedding(text))
        packed = nn.utils.rnn.pack_padded_sequence(
            embedded, lengths.to("cpu"), batch_first=True, enforce_sorted=False
        )
        packed_output, (hidden, _cell) = self.rnn(packed)
        output, output_lengths = nn.utils.rnn.pad_packed_sequence(packed_output, batch_first=True)
        assert output_lengths.tolist() == lengths.tolist()
        assert output.shape[1] == int(lengths.max())  # padded to the longest, not the batch's width
        hidden = self.dropout(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1))
        return self.fc(hidden)


def accuracy_of_logits(logits, target):
    """Share right: a logit's sign for two classes, the argmax for more."""
    if logits.dim() == 1:
        hits = torch.round(torch.sigmoid(logits)) == target
    else:
        hits = logits.argmax(1, keepdim=True).eq(target.view(-1, 1))
    return hits.float().mean()


def run_classifier():
    if args.model == "cnn":
        model = WordCNN(len(itos), args.emb_dim, 4, [2, 3, 4], 1, 0.5)
    elif args.model == "fasttext":
        model = FastText(len(itos), args.emb_dim, 1)
    else:
        model = LSTMClassifier(pretrained, 12, n_classes, 2, 0.5)
    if args.model != "lstm":
        model.embedding.weight.data.copy_(pretrained)
        model.embedding.weight.data[UNK_IDX] = torch.zeros(args.emb_dim)
        model.embedding.weight.data[PAD_IDX] = torch.zeros(args.emb_dim)
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"The model has {n_trainable:,} trainable parameters")
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    if args.model == "lstm":
        criterion = nn.CrossEntropyLoss()
    else:
        criterion = nn.BCEWithLogitsLoss()
    model = model.to(device)
    criterion = criterion.to(device)

    def step(text, lengths, label):
        if args.model == "lstm":
            predictions = model(text, lengths)
            return criterion(predictions, label), accuracy_of_logits(predictions, label)
        # the CNN needs at least as many words as its widest filter: min_len below
        predictions = model(text).squeeze(1)
        target = label.float()
        return criterion(predictions, target), accuracy_of_logits(predictions, target)

    best_valid_loss = float("inf")
    for epoch in range(args.epochs):
        start_time = time.time()
        if args.model == "lstm" and epoch == 1:  # fine-tune the embeddings after one epoch
            model.embedding.weight.requires_grad = True
        model.train()
        epoch_loss = epoch_acc = 0.0
        n = 0
        for text, lengths, label in batches(train_data, args.batch_size, min_len=4):
            optimizer.zero_grad()
            loss, acc = step(text, lengths, label)
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item()
            epoch_acc += acc.item()
            n += 1
        train_loss, train_acc = epoch_loss / n, epoch_acc / n
        model.eval()
        epoch_loss = epoch_acc = 0.0
        n = 0
        with torch.no_grad():
            for text, lengths, label in batches(valid_data, args.batch_size, min_len=4):
                loss, acc = step(text, lengths, label)
                epoch_loss += loss.item()
                epoch_acc += acc.item()
                n += 1
        valid_loss, valid_acc = epoch_loss / n, epoch_acc / n
        if valid_loss < best_valid_loss:
            best_valid_loss = valid_loss
            torch.save(model.state_dict(), "text-model.pt")
        mins = int((time.time() - start_time) / 60)
        print(f"Epoch: {epoch + 1:02} | Epoch Time: {mins}m")
        print(f"\tTrain loss {train_loss:.6f} | Train Acc: {train_acc * 100:.2f}%")
        print(f"\t Val. loss {valid_loss:.6f} |  Val. Acc: {valid_acc * 100:.2f}%")
    model.load_state_dict(torch.load("text-model.pt"))
    model.eval()
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    print("frozen parameters:", frozen)
    with torch.no_grad():
        tokens = ["the", "film", "was", "great", "fun"]
        if args.model == "fasttext":
            tokens = with_bigrams(tokens)
        tensor = torch.LongTensor([[stoi.get(t, UNK_IDX) for t in tokens]]).to(device)
        if args.model == "lstm":
            probs = F.softmax(model(tensor, torch.LongTensor([len(tokens)])), dim=-1)
            print("prediction probabilities " + " ".join(f"{p:.6f}" for p in probs[0].tolist()))
        else:
            print(f"prediction probability {torch.sigmoid(model(tensor)).item():.6f}")


# ---- convolutional sequence to sequence ------------------------------------------------------
HALF = math.sqrt(0.5)  # keeps a residual sum's variance where it was


class GatedBlocks(nn.Module):
    """Token + position embeddings into ``width`` channels, then gated 1-d convolutions (GLU)
    with scaled residuals; ``causal`` pads on the left only, so no step sees the future."""

    def __init__(self, vocab, emb, width, depth, kernel, causal, max_len=50):
        super().__init__()
        self.kernel, self.causal = kernel, causal
        self.scale = torch.sqrt(torch.FloatTensor([0.5])).to(device)
        self.words = nn.Embedding(vocab, emb)
        self.places = nn.Embedding(max_len, emb)
        self.widen = nn.Linear(emb, width)
        self.narrow = nn.Linear(width, emb)
        pad = 0 if causal else (kernel - 1) // 2
        self.gates = nn.ModuleList(
            [nn.Conv1d(width, 2 * width, kernel, padding=pad) for _ in range(depth)]
        )

    def embed(self, ids):
        steps = torch.arange(0, ids.shape[1]).unsqueeze(0).repeat(ids.shape[0], 1).to(device)
        return self.words(ids) + self.places(steps)


class ConvEncoder(GatedBlocks):
    def forward(self, src):
        emb = self.embed(src)
        h = self.widen(emb).permute(0, 2, 1)  # [batch, width, src len]
        for gate in self.gates:
            h = (F.glu(gate(h), dim=1) + h) * self.scale
        keys = self.narrow(h.permute(0, 2, 1))
        return keys, (keys + emb) * HALF  # attention keys, and values carrying the embedding


class ConvDecoder(GatedBlocks):
    def __init__(self, vocab, emb, width, depth, kernel):
        super().__init__(vocab, emb, width, depth, kernel, causal=True)
        self.query = nn.Linear(width, emb)
        self.back = nn.Linear(emb, width)
        self.out = nn.Linear(emb, vocab)

    def forward(self, trg, keys, values):
        emb = self.embed(trg)
        h = self.widen(emb).permute(0, 2, 1)
        weights = None
        for gate in self.gates:
            left = torch.zeros(h.shape[0], h.shape[1], self.kernel - 1).fill_(PAD_IDX)
            g = F.glu(gate(torch.cat((left.to(device), h), dim=2)), dim=1)
            q = (self.query(g.permute(0, 2, 1)) + emb) * self.scale
            weights = F.softmax(torch.matmul(q, keys.permute(0, 2, 1)), dim=2)
            context = self.back(torch.matmul(weights, values)).permute(0, 2, 1)
            h = ((g + context) * self.scale + h) * self.scale
        return self.out(self.narrow(h.permute(0, 2, 1))), weights


class ConvSeq2Seq(nn.Module):
    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, src, trg):
        return self.decoder(trg, *self.encoder(src))


def run_convs2s():
    # the task: copy a sentence in reverse, between <sos> and <eos>
    def pairs(data):
        for text, lengths, _ in batches(data, args.batch_size):
            src = torch.full((text.shape[0], text.shape[1] + 2), PAD_IDX, dtype=torch.long)
            trg = torch.full_like(src, PAD_IDX)
            for row, n in enumerate(lengths.tolist()):
                src[row, : n + 2] = torch.cat([torch.tensor([SOS_IDX]), text[row, :n],
                                               torch.tensor([EOS_IDX])])  # fmt: skip
                trg[row, : n + 2] = torch.cat([torch.tensor([SOS_IDX]), text[row, :n].flip(0),
                                               torch.tensor([EOS_IDX])])  # fmt: skip
            yield src.to(device), trg.to(device)

    model = ConvSeq2Seq(
        ConvEncoder(len(itos), args.emb_dim, 2 * args.emb_dim, 2, 3, causal=False),
        ConvDecoder(len(itos), args.emb_dim, 2 * args.emb_dim, 2, 3),
    ).to(device)
    optimizer = optim.Adam(model.parameters(), lr=0.005)
    criterion = nn.CrossEntropyLoss(ignore_index=PAD_IDX)
    for epoch in range(args.epochs):
        model.train()
        losses = []
        for src, trg in pairs(train_data):
            optimizer.zero_grad()
            output, _ = model(src, trg[:, :-1])
            output_dim = output.shape[-1]
            loss = criterion(
                output.contiguous().view(-1, output_dim), trg[:, 1:].contiguous().view(-1)
            )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            valid = [
                criterion(model(src, trg[:, :-1])[0].reshape(-1, len(itos)), trg[:, 1:].reshape(-1))
                for src, trg in pairs(valid_data)
            ]
        valid_loss = torch.stack(valid).mean().item()
        print(
            f"Epoch: {epoch + 1:02} | Train loss {np.mean(losses):.6f} | Val. loss {valid_loss:.6f}"
        )

    # greedy decoding of one sentence
    tokens = ["the", "plot", "was", "dull"]
    src = torch.LongTensor([[SOS_IDX] + [stoi.get(t, UNK_IDX) for t in tokens] + [EOS_IDX]])
    with torch.no_grad():
        keys, values = model.encoder(src.to(device))
    out_ids = [SOS_IDX]
    while len(out_ids) < 9 and out_ids[-1] != EOS_IDX:
        with torch.no_grad():
            logits, attention = model.decoder(torch.LongTensor([out_ids]).to(device), keys, values)
        out_ids.append(logits.argmax(2)[:, -1].item())
    print("translation:", " ".join(itos[i] for i in out_ids[1:]))
    print("attention shape", tuple(attention.shape), f"max {attention.max().item():.6f}")


if args.model == "convs2s":
    run_convs2s()
else:
    run_classifier()
