"""A small CNN trained under torch.profiler, the way PyTorch's profiler recipe and its
TensorBoard tutorial show it: a schedule picks the recorded steps, ``record_function`` labels
the step, ``on_trace_ready`` reads each cycle's table, and a final no-grad pass is profiled with
the older ``torch.autograd.profiler`` spelling. Written for glassgrad's compatibility suite."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile, record_function, schedule


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        return self.fc(torch.flatten(x, 1))


torch.manual_seed(0)
data = torch.randn(16, 1, 8, 8)
targets = torch.randint(0, 3, (16,))
model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
cycles = []


def trace_ready(prof):
    averages = prof.key_averages()
    calls = {e.key: e.count for e in averages}
    cycles.append(prof.step_num)
    print(f"cycle ending at step {prof.step_num}: step labels {calls['train_step']}")
    header = averages.table(sort_by="self_cpu_time_total", row_limit=3).splitlines()[1]
    print("columns:", " ".join(header.split()))


with profile(
    activities=[ProfilerActivity.CPU],
    schedule=schedule(wait=1, warmup=1, active=2, repeat=2),
    on_trace_ready=trace_ready,
    record_shapes=True,
    profile_memory=True,
) as prof:
    for step in range(9):
        with record_function("train_step"):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(data), targets)
            loss.backward()
            optimizer.step()
        prof.step()
        print(f"step {step} loss {loss.item():.6f}")
print("cycles", cycles)

with torch.autograd.profiler.profile(record_shapes=True) as eval_prof, torch.no_grad():
    logits = model(data)
print("eval loss", F.cross_entropy(logits, targets).item())
print("eval rows", len(eval_prof.key_averages()) > 0)
