"""Sine-wave prediction with stacked LSTM cells and L-BFGS, written for glassgrad's
compatibility suite.

Waves are shifted copies of sin(x / T) made with NumPy; two LSTMCells are unrolled over each
sequence to predict the next value, then run on their own predictions for --future steps.
"""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

parser = argparse.ArgumentParser(description="sine LSTM with L-BFGS")
parser.add_argument("--waves", type=int, default=12)
parser.add_argument("--length", type=int, default=40)
parser.add_argument("--period", type=float, default=6.0)
parser.add_argument("--hidden", type=int, default=16)
parser.add_argument("--steps", type=int, default=2)
parser.add_argument("--max-iter", type=int, default=8)
parser.add_argument("--future", type=int, default=10)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

np.random.seed(args.seed)
torch.manual_seed(args.seed)

x = np.empty((args.waves, args.length), np.int64)
shift = np.random.randint(-4 * args.period, 4 * args.period, args.waves)
x[:] = np.arange(args.length) + shift.reshape(args.waves, 1)
data = np.sin(x / args.period).astype("float64")


class Sequence(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.hidden = hidden
        self.lstm1 = nn.LSTMCell(1, hidden)
        self.lstm2 = nn.LSTMCell(hidden, hidden)
        self.linear = nn.Linear(hidden, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        c_t = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), self.hidden, dtype=torch.double)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):  # feed the predictions back in
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        return torch.cat(outputs, dim=1)


input = torch.from_numpy(data[3:, :-1])
target = torch.from_numpy(data[3:, 1:])
test_input = torch.from_numpy(data[:3, :-1])
test_target = torch.from_numpy(data[:3, 1:])

seq = Sequence(args.hidden)
seq.double()
criterion = nn.MSELoss()
optimizer = optim.LBFGS(seq.parameters(), lr=0.8, max_iter=args.max_iter)

for i in range(args.steps):
    print("STEP:", i)

    def closure():
        optimizer.zero_grad()
        out = seq(input)
        loss = criterion(out, target)
        print(f"loss {loss.item():.10f}")
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        pred = seq(test_input, future=args.future)
        loss = criterion(pred[:, :-args.future], test_target)
        print(f"test loss {loss.item():.10f}")
        y = pred.detach().numpy()
    print("future tail", " ".join(f"{v:.4f}" for v in y[0, -3:]))
