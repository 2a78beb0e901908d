"""Function transforms and forward mode, in the manner of PyTorch's torch.func tutorials.

An ensemble of small models stacked with ``stack_module_state`` and run as one ``vmap`` of
``functional_call``; per-sample gradients by ``vmap(grad(...))`` against a loop; dual tensors
(forward-mode AD) on a module's parameters, checked against ``torch.func.jvp``; then a small
spatial transformer, its localisation head started at the identity map, trained a few steps
with an ``F.relu(..., inplace=True)`` in its classifier. Written for glassgrad's compatibility
suite; every number printed is compared with PyTorch's.
"""

import copy

import torch
import torch.autograd.forward_ad as fwAD
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, jvp, stack_module_state, vmap

torch.manual_seed(0)


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 16)
        self.bn = nn.BatchNorm1d(16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(x.flatten(1)))))


# ---- an ensemble as one vmap ----
members = [Small().eval() for _ in range(4)]
batches = torch.randn(4, 8, 3, 4)
looped = torch.stack([m(x) for m, x in zip(members, batches)])
print("ensemble loop sum", f"{looped.sum().item():.7g}")
params, buffers = stack_module_state(members)
base = copy.deepcopy(members[0])


def run_member(p, b, x):
    return functional_call(base, (p, b), (x,))


mapped = vmap(run_member)(params, buffers, batches)
print("ensemble vmap matches", torch.allclose(mapped, looped, atol=1e-5))
shared = vmap(run_member, in_dims=(0, 0, None))(params, buffers, batches[0])
print("ensemble shared input sum", f"{shared.sum().item():.7g}")
mapped.pow(2).mean().backward()
print("stacked grad norm", f"{params['fc1.weight'].grad.norm().item():.7g}")

# ---- per-sample gradients ----
net = Small().eval()
data, targets = torch.randn(6, 3, 4), torch.randint(0, 3, (6,))
print("net loss", f"{F.cross_entropy(net(data), targets).item():.7g}")
weights = {k: v.detach() for k, v in net.named_parameters()}
stats = {k: v.detach() for k, v in net.named_buffers()}


def sample_loss(w, s, x, y):
    out = functional_call(net, (w, s), (x.unsqueeze(0),))
    return F.cross_entropy(out, y.unsqueeze(0))


per_sample = vmap(grad(sample_loss), in_dims=(None, None, 0, 0))(weights, stats, data, targets)
for name, g in per_sample.items():
    one = torch.autograd.grad(
        F.cross_entropy(net(data[2:3]), targets[2:3]), dict(net.named_parameters())[name]
    )[0]
    print("per-sample", name, tuple(g.shape), f"{g.abs().sum().item():.7g}",
          torch.allclose(g[2], one, atol=1e-6))

# ---- forward mode ----
lin = nn.Linear(5, 4)
x = torch.randn(7, 5)
print("linear out sum", f"{lin(x).sum().item():.7g}")
tangents = {k: torch.randn_like(v) for k, v in lin.named_parameters()}
with fwAD.dual_level():
    duals = {k: fwAD.make_dual(v, tangents[k]) for k, v in lin.named_parameters()}
    out = functional_call(lin, duals, (x,)).tanh()
    tangent = fwAD.unpack_dual(out).tangent
print("dual tangent sum", f"{tangent.sum().item():.7g}")
plain = {k: v.detach() for k, v in lin.named_parameters()}
_, reference = jvp(lambda p: functional_call(lin, p, (x,)).tanh(), (plain,), (tangents,))
print("jvp agrees", torch.allclose(tangent, reference, atol=1e-6))


# ---- a spatial transformer from the identity ----
class STN(nn.Module):
    def __init__(self):
        super().__init__()
        self.loc = nn.Sequential(nn.Conv2d(1, 4, 5), nn.MaxPool2d(2), nn.ReLU(True))
        self.fc_loc = nn.Sequential(nn.Linear(4 * 4 * 4, 16), nn.ReLU(True), nn.Linear(16, 6))
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 5 * 5, 5)

    def forward(self, x):
        theta = self.fc_loc(self.loc(x).flatten(1)).view(-1, 2, 3)
        grid = F.affine_grid(theta, x.size(), align_corners=False)
        x = F.grid_sample(x, grid, align_corners=False)
        x = F.relu(F.max_pool2d(self.conv(x), 2), inplace=True)
        return F.log_softmax(self.fc(x.flatten(1)), dim=1)


stn = STN()
opt = torch.optim.SGD(stn.parameters(), lr=0.05, momentum=0.9)
images, labels = torch.randn(5, 4, 1, 12, 12), torch.randint(0, 5, (5, 4))
for step in range(5):
    opt.zero_grad()
    loss = F.nll_loss(stn(images[step]), labels[step])
    loss.backward()
    opt.step()
    print(f"stn step {step} loss {loss.item():.6f}")
