"""A toy translator with additive attention, written for glassgrad's compatibility suite.

Made-up sentence pairs from an invented language into English; a GRU encoder reads the source
and a GRU decoder attends over its outputs (Bahdanau attention), trained with teacher forcing.
"""

import argparse
import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim

PAIRS = [
    ("mi vosa kela", "i see the bird"),
    ("mi vosa dru", "i see the tree"),
    ("tu vosa kela", "you see the bird"),
    ("tu amra dru", "you like the tree"),
    ("sa amra kela", "she likes the bird"),
    ("sa vosa lumi", "she sees the river"),
    ("mi amra lumi", "i like the river"),
    ("tu vosa lumi", "you see the river"),
    ("sa amra dru", "she likes the tree"),
    ("mi amra kela", "i like the bird"),
    ("sa vosa kela nox", "she sees the bird tonight"),
    ("mi vosa dru nox", "i see the tree tonight"),
]

SOS, EOS = 0, 1

parser = argparse.ArgumentParser(description="seq2seq with attention")
parser.add_argument("--hidden", type=int, default=24)
parser.add_argument("--epochs", type=int, default=30)
parser.add_argument("--batch-size", type=int, default=4)
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--teacher-forcing", type=float, default=0.5)
parser.add_argument("--log-every", type=int, default=3)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

random.seed(args.seed)
torch.manual_seed(args.seed)


class Lang:
    def __init__(self, name):
        self.name = name
        self.word2index = {}
        self.index2word = {SOS: "SOS", EOS: "EOS"}
        self.n_words = 2

    def add_sentence(self, sentence):
        for word in sentence.split(" "):
            if word not in self.word2index:
                self.word2index[word] = self.n_words
                self.index2word[self.n_words] = word
                self.n_words += 1


src_lang, tgt_lang = Lang("vosan"), Lang("eng")
for src, tgt in PAIRS:
    src_lang.add_sentence(src)
    tgt_lang.add_sentence(tgt)
MAX_LENGTH = max(len(s.split()) for pair in PAIRS for s in pair) + 1


def indexes(lang, sentence):
    return [lang.word2index[w] for w in sentence.split(" ")] + [EOS]


def padded(rows):
    out = torch.zeros(len(rows), MAX_LENGTH, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size, dropout_p=0.1):
        super().__init__()
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input):
        embedded = self.dropout(self.embedding(input))
        output, hidden = self.gru(embedded)
        return output, hidden


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, keys):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))  # (B, T, 1)
        scores = scores.squeeze(2).unsqueeze(1)  # (B, 1, T)
        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)
        return context, weights


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size, dropout_p=0.1):
        super().__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS)
        decoder_hidden = encoder_hidden
        decoder_outputs, attentions = [], []
        use_teacher = target_tensor is not None and random.random() < args.teacher_forcing
        for i in range(MAX_LENGTH):
            decoder_output, decoder_hidden, attn_weights = self.forward_step(
                decoder_input, decoder_hidden, encoder_outputs
            )
            decoder_outputs.append(decoder_output)
            attentions.append(attn_weights)
            if use_teacher:
                decoder_input = target_tensor[:, i].unsqueeze(1)
            else:
                _, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze(-1).detach()
        decoder_outputs = torch.cat(decoder_outputs, dim=1)
        decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
        attentions = torch.cat(attentions, dim=1)
        return decoder_outputs, decoder_hidden, attentions

    def forward_step(self, input, hidden, encoder_outputs):
        embedded = self.dropout(self.embedding(input))
        query = hidden.permute(1, 0, 2)
        context, attn_weights = self.attention(query, encoder_outputs)
        input_gru = torch.cat((embedded, context), dim=2)
        output, hidden = self.gru(input_gru, hidden)
        output = self.out(output)
        return output, hidden, attn_weights


encoder = EncoderRNN(src_lang.n_words, args.hidden)
decoder = AttnDecoderRNN(args.hidden, tgt_lang.n_words)
encoder_optimizer = optim.Adam(encoder.parameters(), lr=args.lr)
decoder_optimizer = optim.Adam(decoder.parameters(), lr=args.lr)
criterion = nn.NLLLoss()

inputs = padded([indexes(src_lang, s) for s, _ in PAIRS])
targets = padded([indexes(tgt_lang, t) for _, t in PAIRS])

step = 0
for epoch in range(1, args.epochs + 1):
    order = list(range(len(PAIRS)))
    random.shuffle(order)
    total = 0.0
    for start in range(0, len(order), args.batch_size):
        idx = torch.tensor(order[start : start + args.batch_size])
        input_tensor, target_tensor = inputs[idx], targets[idx]
        encoder_optimizer.zero_grad()
        decoder_optimizer.zero_grad()
        encoder_outputs, encoder_hidden = encoder(input_tensor)
        decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)
        loss = criterion(
            decoder_outputs.view(-1, decoder_outputs.size(-1)), target_tensor.view(-1)
        )
        loss.backward()
        encoder_optimizer.step()
        decoder_optimizer.step()
        total += loss.item()
        step += 1
    if epoch % args.log_every == 0:
        print(f"epoch {epoch} step {step} loss {total / (len(order) / args.batch_size):.6f}")


def translate(sentence):
    encoder.eval()
    decoder.eval()
    with torch.no_grad():
        input_tensor = padded([indexes(src_lang, sentence)])
        encoder_outputs, encoder_hidden = encoder(input_tensor)
        decoder_outputs, _, attentions = decoder(encoder_outputs, encoder_hidden)
        _, topi = decoder_outputs.topk(1)
        words = []
        for idx in topi.squeeze().tolist():
            if idx == EOS:
                break
            words.append(tgt_lang.index2word[idx])
    return " ".join(words), attentions


for sentence in ["mi vosa kela", "sa amra lumi", "tu vosa dru nox"]:
    words, attentions = translate(sentence)
    peak = attentions[0, 0].max().item()
    print(f"{sentence} => {words} (first attention peak {peak:.4f})")
