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


def generate_bigrams(x):
    n_grams = set(zip(*[x[i:] for i in range(2)]))
    for n_gram in n_grams:
        x.append(" ".join(n_gram))
    return x


examples = []
for _ in range(64):
    label = int(rng.integers(0, n_classes))
    tokens = sentence(label)
    if args.model == "fasttext":
        tokens = generate_bigrams(tokens)
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
class CNN(nn.Module):
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


def binary_accuracy(preds, y):
    rounded_preds = torch.round(torch.sigmoid(preds))
    correct = (rounded_preds == y).float()
    return correct.sum() / len(correct)


def categorical_accuracy(preds, y):
    top_pred = preds.argmax(1, keepdim=True)
    correct = top_pred.eq(y.view_as(top_pred)).sum()
    return correct.float() / y.shape[0]


def run_classifier():
    if args.model == "cnn":
        model = CNN(len(itos), args.emb_dim, 4, [2, 3, 4], 1, 0.5)
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
            return criterion(predictions, label), categorical_accuracy(predictions, label)
        # the CNN needs at least as many words as its widest filter: min_len below
        predictions = model(text).squeeze(1)
        target = label.float()
        return criterion(predictions, target), binary_accuracy(predictions, target)

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
            tokens = generate_bigrams(tokens)
        tensor = torch.LongTensor([[stoi.get(t, UNK_IDX) for t in tokens]]).to(device)
        if args.model == "lstm":
            probs = F.softmax(model(tensor, torch.LongTensor([len(tokens)])), dim=-1)
            print("prediction probabilities " + " ".join(f"{p:.6f}" for p in probs[0].tolist()))
        else:
            print(f"prediction probability {torch.sigmoid(model(tensor)).item():.6f}")


# ---- convolutional sequence to sequence ------------------------------------------------------
class ConvEncoder(nn.Module):
    def __init__(self, input_dim, emb_dim, hid_dim, n_layers, kernel_size, max_length=50):
        super().__init__()
        self.scale = torch.sqrt(torch.FloatTensor([0.5])).to(device)
        self.tok_embedding = nn.Embedding(input_dim, emb_dim)
        self.pos_embedding = nn.Embedding(max_length, emb_dim)
        self.emb2hid = nn.Linear(emb_dim, hid_dim)
        self.hid2emb = nn.Linear(hid_dim, emb_dim)
        self.convs = nn.ModuleList(
            [
                nn.Conv1d(hid_dim, 2 * hid_dim, kernel_size, padding=(kernel_size - 1) // 2)
                for _ in range(n_layers)
            ]
        )

    def forward(self, src):
        batch_size, src_len = src.shape
        pos = torch.arange(0, src_len).unsqueeze(0).repeat(batch_size, 1).to(device)
        embedded = self.tok_embedding(src) + self.pos_embedding(pos)
        conv_input = self.emb2hid(embedded).permute(0, 2, 1)  # [batch, hid dim, src len]
        for conv in self.convs:
            conved = F.glu(conv(conv_input), dim=1)
            conv_input = (conved + conv_input) * self.scale
        conved = self.hid2emb(conv_input.permute(0, 2, 1))
        combined = (conved + embedded) * self.scale
        return conved, combined


class ConvDecoder(nn.Module):
    def __init__(self, output_dim, emb_dim, hid_dim, n_layers, kernel_size, max_length=50):
        super().__init__()
        self.kernel_size = kernel_size
        self.scale = torch.sqrt(torch.FloatTensor([0.5])).to(device)
        self.tok_embedding = nn.Embedding(output_dim, emb_dim)
        self.pos_embedding = nn.Embedding(max_length, emb_dim)
        self.emb2hid = nn.Linear(emb_dim, hid_dim)
        self.hid2emb = nn.Linear(hid_dim, emb_dim)
        self.attn_hid2emb = nn.Linear(hid_dim, emb_dim)
        self.attn_emb2hid = nn.Linear(emb_dim, hid_dim)
        self.fc_out = nn.Linear(emb_dim, output_dim)
        self.convs = nn.ModuleList(
            [nn.Conv1d(hid_dim, 2 * hid_dim, kernel_size) for _ in range(n_layers)]
        )

    def attend(self, embedded, conved, encoder_conved, encoder_combined):
        combined = (self.attn_hid2emb(conved.permute(0, 2, 1)) + embedded) * self.scale
        energy = torch.matmul(combined, encoder_conved.permute(0, 2, 1))
        attention = F.softmax(energy, dim=2)
        attended = self.attn_emb2hid(torch.matmul(attention, encoder_combined))
        return attention, (conved + attended.permute(0, 2, 1)) * self.scale

    def forward(self, trg, encoder_conved, encoder_combined):
        batch_size, trg_len = trg.shape
        pos = torch.arange(0, trg_len).unsqueeze(0).repeat(batch_size, 1).to(device)
        embedded = self.tok_embedding(trg) + self.pos_embedding(pos)
        conv_input = self.emb2hid(embedded).permute(0, 2, 1)
        hid_dim = conv_input.shape[1]
        for conv in self.convs:
            padding = torch.zeros(batch_size, hid_dim, self.kernel_size - 1).fill_(PAD_IDX)
            conved = F.glu(conv(torch.cat((padding.to(device), conv_input), dim=2)), dim=1)
            attention, conved = self.attend(embedded, conved, encoder_conved, encoder_combined)
            conv_input = (conved + conv_input) * self.scale
        output = self.fc_out(self.hid2emb(conv_input.permute(0, 2, 1)))
        return output, attention


class ConvSeq2Seq(nn.Module):
    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, src, trg):
        encoder_conved, encoder_combined = self.encoder(src)
        return self.decoder(trg, encoder_conved, encoder_combined)


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
        ConvEncoder(len(itos), args.emb_dim, 2 * args.emb_dim, 2, 3),
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
        encoder_conved, encoder_combined = model.encoder(src.to(device))
    trg_indexes = [SOS_IDX]
    for _ in range(8):
        trg_tensor = torch.LongTensor(trg_indexes).unsqueeze(0).to(device)
        with torch.no_grad():
            output, attention = model.decoder(trg_tensor, encoder_conved, encoder_combined)
        pred_token = output.argmax(2)[:, -1].item()
        trg_indexes.append(pred_token)
        if pred_token == EOS_IDX:
            break
    print("translation:", " ".join(itos[i] for i in trg_indexes[1:]))
    print("attention shape", tuple(attention.shape), f"max {attention.max().item():.6f}")


if args.model == "convs2s":
    run_convs2s()
else:
    run_classifier()
