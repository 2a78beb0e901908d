"""Two toy translators over made-up token ids, written for glassgrad's compatibility suite.

The habits of tutorial seq2seq scripts: a bidirectional LSTM encoder whose two final states are
joined by a linear layer, a decoder attending over the encoder states through an einsum, its
step outputs written into a preallocated ``torch.zeros`` tensor (``outputs[t] = output``) with
teacher forcing decided by ``random.random()``; then an ``nn.Transformer`` with learned
positions, ``generate_square_subsequent_mask`` and a source key padding mask, decoded greedily.
Both train with ``ignore_index`` on the padding, gradient clipping and ReduceLROnPlateau.
"""

import random
import torch
import torch.nn as nn
import torch.optim as optim

torch.manual_seed(0)
SRC_V, TRG_V, PAD = 13, 11, 1


class Encoder(nn.Module):
    def __init__(self, emb=8, hid=10):
        super().__init__()
        self.embedding = nn.Embedding(SRC_V, emb)
        self.rnn = nn.LSTM(emb, hid, num_layers=1, bidirectional=True)
        self.fc_hidden = nn.Linear(hid * 2, hid)
        self.fc_cell = nn.Linear(hid * 2, hid)
        self.dropout = nn.Dropout(0.0)

    def forward(self, x):
        states, (hidden, cell) = self.rnn(self.dropout(self.embedding(x)))
        hidden = self.fc_hidden(torch.cat((hidden[0:1], hidden[1:2]), dim=2))
        cell = self.fc_cell(torch.cat((cell[0:1], cell[1:2]), dim=2))
        return states, hidden, cell


class Decoder(nn.Module):
    def __init__(self, emb=8, hid=10):
        super().__init__()
        self.embedding = nn.Embedding(TRG_V, emb)
        self.rnn = nn.LSTM(hid * 2 + emb, hid, num_layers=1)
        self.energy = nn.Linear(hid * 3, 1)
        self.fc = nn.Linear(hid, TRG_V)
        self.softmax = nn.Softmax(dim=0)
        self.relu = nn.ReLU()

    def forward(self, x, states, hidden, cell):
        x = x.unsqueeze(0)
        embedding = self.embedding(x)
        seq_len = states.shape[0]
        h = hidden.repeat(seq_len, 1, 1)
        energy = self.relu(self.energy(torch.cat((h, states), dim=2)))
        attention = self.softmax(energy)
        context = torch.einsum("snk,snl->knl", attention, states)
        out, (hidden, cell) = self.rnn(torch.cat((context, embedding), dim=2), (hidden, cell))
        return self.fc(out).squeeze(0), hidden, cell


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.decoder = Encoder(), Decoder()

    def forward(self, source, target, teacher_force_ratio=0.5):
        target_len, batch_size = target.shape
        outputs = torch.zeros(target_len, batch_size, TRG_V)
        states, hidden, cell = self.encoder(source)
        x = target[0]
        for t in range(1, target_len):
            output, hidden, cell = self.decoder(x, states, hidden, cell)
            outputs[t] = output
            best_guess = output.argmax(1)
            x = target[t] if random.random() < teacher_force_ratio else best_guess
        return outputs


class TransformerModel(nn.Module):
    def __init__(self, emb=16, heads=2, max_len=20):
        super().__init__()
        self.src_word = nn.Embedding(SRC_V, emb)
        self.src_pos = nn.Embedding(max_len, emb)
        self.trg_word = nn.Embedding(TRG_V, emb)
        self.trg_pos = nn.Embedding(max_len, emb)
        self.transformer = nn.Transformer(emb, heads, 2, 2, 32, 0.0)
        self.fc_out = nn.Linear(emb, TRG_V)

    def make_src_mask(self, src):
        return src.transpose(0, 1) == PAD

    def forward(self, src, trg):
        src_len, n = src.shape
        trg_len, n = trg.shape
        src_pos = torch.arange(0, src_len).unsqueeze(1).expand(src_len, n)
        trg_pos = torch.arange(0, trg_len).unsqueeze(1).expand(trg_len, n)
        es = self.src_word(src) + self.src_pos(src_pos)
        et = self.trg_word(trg) + self.trg_pos(trg_pos)
        trg_mask = self.transformer.generate_square_subsequent_mask(trg_len)
        out = self.transformer(
            es, et, src_key_padding_mask=self.make_src_mask(src), tgt_mask=trg_mask
        )
        return self.fc_out(out)


src = torch.randint(2, SRC_V, (7, 4))
src[5:, 1] = PAD
trg = torch.randint(2, TRG_V, (6, 4))
trg[4:, 2] = PAD
for name, model in (("lstm", Seq2Seq()), ("transformer", TransformerModel())):
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=2)
    criterion = nn.CrossEntropyLoss(ignore_index=PAD)
    for epoch in range(6):
        model.train()
        if name == "lstm":
            output = model(src, trg)[1:].reshape(-1, TRG_V)
            target = trg[1:].reshape(-1)
        else:
            output = model(src, trg[:-1]).reshape(-1, TRG_V)
            target = trg[1:].reshape(-1)
        optimizer.zero_grad()
        loss = criterion(output, target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1)
        optimizer.step()
        scheduler.step(loss)
        print(f"{name} epoch {epoch} loss {loss.item():.6f}")
    model.eval()
    with torch.no_grad():
        if name == "transformer":
            outputs = [2]
            for i in range(5):
                trg_t = torch.LongTensor(outputs).unsqueeze(1)
                best = model(src[:, :1], trg_t).argmax(2)[-1, :].item()
                outputs.append(best)
            print("greedy", outputs)
