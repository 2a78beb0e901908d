"""A toy sentiment classifier with a Transformer encoder, for glassgrad's compatibility suite.

Made-up sentences labelled positive or negative; a word vocabulary built in Python, padded
variable-length batches from a custom collate_fn, a pre-norm Transformer encoder with a key
padding mask, masked mean pooling, label smoothing, AdamW with linear warmup and clipping.
"""

import argparse
import math

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset

SENTENCES = [
    ("the movie was great", 1),
    ("what a wonderful little film", 1),
    ("i loved every minute of it", 1),
    ("the acting was superb and moving", 1),
    ("a truly delightful story", 1),
    ("great music and a great cast", 1),
    ("i would happily watch it again", 1),
    ("charming funny and warm", 1),
    ("the best film i saw this year", 1),
    ("a wonderful cast", 1),
    ("moving and beautifully shot", 1),
    ("it made me smile", 1),
    ("the movie was terrible", 0),
    ("what a boring little film", 0),
    ("i hated every minute of it", 0),
    ("the acting was wooden and dull", 0),
    ("a truly awful story", 0),
    ("bad music and a bad cast", 0),
    ("i would never watch it again", 0),
    ("dull slow and cold", 0),
    ("the worst film i saw this year", 0),
    ("an awful cast", 0),
    ("boring and badly shot", 0),
    ("it made me yawn", 0),
]

PAD, UNK = 0, 1

parser = argparse.ArgumentParser(description="Transformer text classifier")
parser.add_argument("--d-model", type=int, default=32)
parser.add_argument("--nhead", type=int, default=4)
parser.add_argument("--ff", type=int, default=64)
parser.add_argument("--dropout", type=float, default=0.1)
parser.add_argument("--epochs", type=int, default=8)
parser.add_argument("--batch-size", type=int, default=6)
parser.add_argument("--lr", type=float, default=3e-3)
parser.add_argument("--warmup", type=int, default=6)
parser.add_argument("--clip", type=float, default=1.0)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

torch.manual_seed(args.seed)


class Vocab:
    def __init__(self, texts):
        self.itos = ["<pad>", "<unk>"]
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        for text in texts:
            for word in text.split():
                if word not in self.stoi:
                    self.stoi[word] = len(self.itos)
                    self.itos.append(word)

    def __len__(self):
        return len(self.itos)

    def encode(self, text):
        return [self.stoi.get(w, UNK) for w in text.split()]


class SentimentData(Dataset):
    def __init__(self, pairs, vocab):
        self.items = [(torch.tensor(vocab.encode(t), dtype=torch.long), y) for t, y in pairs]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def collate(batch):
    tokens, labels = zip(*batch)
    padded = pad_sequence(list(tokens), batch_first=True, padding_value=PAD)
    return padded, torch.tensor(labels, dtype=torch.long)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=64):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1).float()
        div = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div)
        self.register_buffer("pe", pe.unsqueeze(0))

    def forward(self, x):
        return x + self.pe[:, : x.size(1)]


class Classifier(nn.Module):
    def __init__(self, ntoken, d_model, nhead, ff, dropout, nclass=2):
        super().__init__()
        self.d_model = d_model
        self.embed = nn.Embedding(ntoken, d_model, padding_idx=PAD)
        self.pos = PositionalEncoding(d_model)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            d_model, nhead, dim_feedforward=ff, dropout=dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, nclass)

    def forward(self, tokens):
        pad_mask = tokens == PAD  # True where padded: attention ignores those keys
        x = self.drop(self.pos(self.embed(tokens) * math.sqrt(self.d_model)))
        x = self.encoder(x, src_key_padding_mask=pad_mask)
        keep = (~pad_mask).unsqueeze(-1).float()
        pooled = (x * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)
        return self.head(pooled)


vocab = Vocab(t for t, _ in SENTENCES)
train_pairs = [p for i, p in enumerate(SENTENCES) if i % 4 != 3]
test_pairs = [p for i, p in enumerate(SENTENCES) if i % 4 == 3]
train_loader = DataLoader(
    SentimentData(train_pairs, vocab), batch_size=args.batch_size, shuffle=True, collate_fn=collate
)
test_loader = DataLoader(
    SentimentData(test_pairs, vocab), batch_size=args.batch_size, shuffle=False, collate_fn=collate
)

model = Classifier(len(vocab), args.d_model, args.nhead, args.ff, args.dropout)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
scheduler = torch.optim.lr_scheduler.LambdaLR(
    optimizer, lambda step: min(1.0, (step + 1) / args.warmup)
)
print(f"vocabulary {len(vocab)} words, {sum(p.numel() for p in model.parameters())} parameters")


def evaluate(loader):
    model.eval()
    correct = total = 0
    loss_sum = 0.0
    with torch.inference_mode():
        for tokens, labels in loader:
            logits = model(tokens)
            loss_sum += criterion(logits, labels).item() * labels.size(0)
            correct += (logits.argmax(dim=1) == labels).sum().item()
            total += labels.size(0)
    return loss_sum / total, correct / total


step = 0
for epoch in range(1, args.epochs + 1):
    model.train()
    for tokens, labels in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(tokens), labels)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        scheduler.step()
        step += 1
        print(
            f"epoch {epoch} step {step:3d} lr {scheduler.get_last_lr()[0]:.5f} "
            f"loss {loss.item():.8f} grad norm {norm.item():.4f}"
        )
    test_loss, acc = evaluate(test_loader)
    print(f"epoch {epoch} test loss {test_loss:.8f} accuracy {acc:.3f}")

_, train_acc = evaluate(train_loader)
print(f"train accuracy {train_acc:.3f}")
