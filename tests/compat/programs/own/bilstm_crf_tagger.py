"""A bidirectional-LSTM tagger with a linear-chain CRF on top, written for glassgrad's suite.

Toy named-entity sentences (B/I/O tags for places and people). The CRF's partition function is
the forward algorithm in log space (``logsumexp`` over the previous tag), decoding is Viterbi
with ``max(dim)``'s values and indices; the best transition pairs are read back from a flattened
index with ``//`` and ``%``. Along the way it prints tensors the way scripts do: the decoded
score and path, small probabilities (in scientific notation) and a per-tag accuracy table
filled with ``torch.mul(..., out=)``.
"""

import argparse

import torch
import torch.nn as nn

SENTENCES = [
    ("anna flew to lima on monday", "B-PER O O B-LOC O O"),
    ("the river runs past old lima", "O O O O B-LOC I-LOC"),
    ("paul and anna met in new york", "B-PER O B-PER O O B-LOC I-LOC"),
    ("new york is far from lima", "B-LOC I-LOC O O O B-LOC"),
    ("monday paul drove to old york", "O B-PER O O B-LOC I-LOC"),
    ("anna smith lives in lima", "B-PER I-PER O O B-LOC"),
]
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "<s>", "</s>"]
START, STOP = TAGS.index("<s>"), TAGS.index("</s>")


class CRFTagger(nn.Module):
    def __init__(self, vocab, n_tags, emb, hidden):
        super().__init__()
        self.n_tags = n_tags
        self.embed = nn.Embedding(vocab, emb)
        self.rnn = nn.LSTM(emb, hidden // 2, bidirectional=True)
        self.emit = nn.Linear(hidden, n_tags)
        # trans[i, j]: the score of moving from tag j to tag i
        self.trans = nn.Parameter(torch.randn(n_tags, n_tags) * 0.1)
        with torch.no_grad():
            self.trans[START, :] = -1e4
            self.trans[:, STOP] = -1e4

    def emissions(self, words):
        x = self.embed(words).view(len(words), 1, -1)
        out, _ = self.rnn(x)
        return self.emit(out.view(len(words), -1))

    def log_partition(self, feats):
        alpha = torch.full((self.n_tags,), -1e4)
        alpha[START] = 0.0
        for feat in feats:
            # scores[i, j] = alpha[j] + trans[i, j] + feat[i]
            scores = alpha.unsqueeze(0) + self.trans + feat.unsqueeze(1)
            alpha = torch.logsumexp(scores, dim=1)
        return torch.logsumexp(alpha + self.trans[STOP], dim=0)

    def gold_score(self, feats, tags):
        path = torch.cat([torch.tensor([START], dtype=torch.long), tags])
        score = torch.zeros(())
        for i, feat in enumerate(feats):
            score = score + self.trans[path[i + 1], path[i]] + feat[path[i + 1]]
        return score + self.trans[STOP, path[-1]]

    def loss(self, words, tags):
        feats = self.emissions(words)
        return self.log_partition(feats) - self.gold_score(feats, tags)

    def forward(self, words):
        feats = self.emissions(words)
        best = torch.full((1, self.n_tags), -1e4)
        best[0][START] = 0
        pointers = []
        for feat in feats:
            step = torch.max(best + self.trans, 1)  # for each next tag: the best previous one
            pointers.append(step.indices)
            best = (step.values + feat).view(1, -1)
        last = best + self.trans[STOP]
        score, tag = last.max(1)
        path = [int(tag.item())]
        for ptr in reversed(pointers):
            path.append(int(ptr[path[-1]]))
        assert path.pop() == START
        path.reverse()
        return score, path


def encode(sentence, index):
    return torch.LongTensor([index[w] for w in sentence.split()])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args()
    torch.manual_seed(3)

    words = sorted({w for s, _ in SENTENCES for w in s.split()})
    index = {w: i for i, w in enumerate(words)}
    tag_index = {t: i for i, t in enumerate(TAGS)}
    data = [(encode(s, index), encode(t, tag_index)) for s, t in SENTENCES]

    model = CRFTagger(len(words), len(TAGS), 8, 10)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, weight_decay=1e-4)
    with torch.no_grad():
        print("before:", model(data[0][0]))

    for epoch in range(args.epochs):
        total = 0.0
        for x, y in data:
            model.zero_grad()
            loss = model.loss(x, y)
            loss.backward()
            optimizer.step()
            total += loss.item()
        if epoch % 3 == 0:
            print(f"epoch {epoch} loss {total / len(data):.6f}")

    grad_norm = torch.stack([p.grad.norm() for p in model.parameters()]).min()
    print("smallest gradient norm", grad_norm)

    # the strongest transitions, read back from a flattened index
    flat = model.trans.detach()[:START, :START].reshape(-1)
    top = torch.topk(flat, 3).indices
    for k in top.tolist():
        print("transition", TAGS[k % START], "->", TAGS[k // START])
    pairs = top // START, top % START
    print("pairs", pairs)

    with torch.no_grad():  # how likely an impossible tagging (all I-PER) still is: tiny
        odd = []
        for x, _ in data:
            feats = model.emissions(x)
            inside = torch.full((len(x),), TAGS.index("I-PER"), dtype=torch.long)
            odd.append(torch.exp(model.gold_score(feats, inside) - model.log_partition(feats)))
        print("p(all I-PER)", torch.stack(odd))

    hits = torch.zeros(START)
    counts = torch.zeros(START)
    with torch.no_grad():
        for x, y in data:
            score, path = model(x)
            print("score", round(score.item(), 4), "path", [TAGS[t] for t in path])
            for t, p in zip(y.tolist(), path):
                counts[t] += 1
                hits[t] += int(t == p)
    rate = torch.empty(START)
    torch.mul(hits, 1.0 / counts.clamp(min=1), out=rate)
    print("accuracy per tag", rate)


if __name__ == "__main__":
    main()
