"""The spatial transformer's ops, CTC loss and adaptive softmax against PyTorch in float64:
a spatial transformer network end to end (theta -> affine_grid -> grid_sample, every parameter's
gradient), ``CTCLoss`` on fixed cases (repeated labels, blanks, concatenated targets, the mean over
target lengths, infeasible alignments) and ``AdaptiveLogSoftmaxWithLoss`` with copied weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import nn


def _close(a, b, rtol=1e-10, atol=1e-12, msg=""):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=msg)


def _copy(ours, theirs) -> None:
    ours.load_state_dict(
        {k: gg.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()}
    )


def _same_grads(ours, theirs) -> None:
    tparams = dict(theirs.named_parameters())
    names = [n for n, _ in ours.named_parameters()]
    assert names == list(tparams)
    for n, p in ours.named_parameters():
        _close(p.grad, tparams[n].grad, msg=n)


# ---- spatial transformer -----------------------------------------------------------------------


def _stn(lib):
    nn_ = lib.nn
    Fn = lib.nn.functional

    class STN(nn_.Module):
        """The localisation net of PyTorch's spatial transformer tutorial, scaled down."""

        def __init__(self):
            super().__init__()
            self.loc = nn_.Sequential(nn_.Conv2d(1, 4, 3), nn_.MaxPool2d(2), nn_.ReLU())
            self.fc = nn_.Sequential(nn_.Linear(4 * 3 * 3, 8), nn_.ReLU(), nn_.Linear(8, 6))

        def forward(self, x, mode, padding, corners):
            theta = self.fc(self.loc(x).flatten(1)).view(-1, 2, 3)
            grid = Fn.affine_grid(theta, x.size(), align_corners=corners)
            return Fn.grid_sample(x, grid, mode, padding, corners)

    return STN().double()


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("corners", [False, True])
def test_spatial_transformer_matches_torch(mode, padding, corners):
    torch.manual_seed(0)
    theirs, ours = _stn(torch), _stn(gg)
    with torch.no_grad():  # an identity-ish transform with some rotation and a zoom out
        theirs.fc[2].weight.mul_(0.5)
        theirs.fc[2].bias.copy_(torch.tensor([1.1, 0.3, 0.1, -0.2, 0.9, 0.05]))
    _copy(ours, theirs)
    x = np.random.default_rng(1).standard_normal((2, 1, 8, 8))
    a, ta = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(a, mode, padding, corners), theirs(ta, mode, padding, corners)
    _close(out, tout)
    v = np.random.default_rng(2).standard_normal(tout.shape)
    out.backward(gg.tensor(v))
    tout.backward(torch.tensor(v))
    _close(a.grad, ta.grad)
    _same_grads(ours, theirs)
    if mode == "bilinear":  # the grid's gradient reaches the localisation net
        assert np.abs(ours.fc[2].weight.grad.numpy()).max() > 0


@pytest.mark.parametrize("size", [(3, 1, 28, 28), (2, 3, 7, 9), (2, 1, 5, 6, 11)])
@pytest.mark.parametrize("corners", [False, True])
def test_float32_identity_transform_has_torchs_grid_and_theta_gradient(size, corners):
    """The tutorial's STN starts at the identity map, whose sampling points fall on pixel
    centres: the grid is made in theta's float32 as PyTorch makes it, so each point has
    PyTorch's floor and theta PyTorch's gradient (the float64 base grid rounded some points a
    last bit below a centre: another corner pair, a gradient off by 40%)."""
    d = len(size) - 2
    eye = np.eye(d, d + 1, dtype=np.float32)[None].repeat(size[0], 0)
    x = np.random.default_rng(5).standard_normal(size).astype(np.float32)
    outs = []
    for lib in (gg, torch):
        theta = lib.tensor(eye, requires_grad=True)
        grid = lib.nn.functional.affine_grid(theta, size, align_corners=corners)
        y = lib.nn.functional.grid_sample(lib.tensor(x), grid, align_corners=corners)
        (y * y).sum().backward()
        outs.append((grid.detach().numpy(), theta.grad.numpy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=2e-5, atol=2e-5)


def test_spatial_warnings_point_at_the_callers_line():
    theta = gg.eye(2, 3)[None]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grid = F.affine_grid(theta, (1, 1, 2, 2))
        F.grid_sample(gg.ones(1, 1, 2, 2), grid)
        F.affine_grid(theta, (1, 1, 1, 2), align_corners=True)
        F.kl_div(gg.zeros(2), gg.ones(2))
    assert [w.filename for w in caught] == [__file__] * 4


def test_grid_sample_points_and_second_derivatives():
    x = gg.arange(12.0, dtype=gg.float64).view(1, 1, 3, 4)
    # the corners of the input, its centre, and outside points under each padding mode
    grid = gg.tensor([[[[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0], [1.5, 0.0]]]], dtype=gg.float64)
    assert F.grid_sample(x, grid, align_corners=True).flatten().tolist() == [0.0, 11.0, 5.5, 1.75]
    tx, tgrid = torch.tensor(x.numpy()), torch.tensor(grid.numpy())
    for padding in ("zeros", "border", "reflection"):
        for corners in (False, True):
            ours = F.grid_sample(x, grid, "bilinear", padding, corners)
            _close(ours, TF.grid_sample(tx, tgrid, "bilinear", padding, corners), msg=padding)
    xs = np.random.default_rng(3).standard_normal((1, 2, 3, 4))
    gs = np.random.default_rng(4).uniform(-1.2, 1.2, (1, 2, 3, 2))
    ours = [gg.tensor(xs, requires_grad=True), gg.tensor(gs, requires_grad=True)]
    theirs = [torch.tensor(xs, requires_grad=True), torch.tensor(gs, requires_grad=True)]
    outs = []
    for lib, (p, q) in ((gg, ours), (torch, theirs)):
        y = lib.nn.functional.grid_sample(p, q, "bilinear", "reflection", False)
        gx, gq = lib.autograd.grad((y * y).sum(), [p, q], create_graph=True)
        outs.append(lib.autograd.grad((gx * gx).sum() + (gq**3).sum(), [p, q]))
    for a, b in zip(*outs):
        _close(a, b, rtol=1e-9, atol=1e-11)


def test_affine_grid_and_grid_sample_errors_and_warnings():
    theta = gg.zeros(2, 2, 3, dtype=gg.float64)
    with pytest.warns(UserWarning, match="align_corners=False"):
        F.affine_grid(theta, (2, 1, 3, 3))
    with pytest.raises(ValueError, match=r"Nx3x4 for size \[2, 1, 3, 3, 3\]"):
        F.affine_grid(theta, (2, 1, 3, 3, 3), align_corners=False)
    with pytest.raises(NotImplementedError, match="4D and 5D sizes"):
        F.affine_grid(theta, (2, 1, 3), align_corners=False)
    with pytest.raises(ValueError, match="floating point"):
        F.affine_grid(gg.zeros(2, 2, 3, dtype=gg.int64), (2, 1, 3, 3), align_corners=False)
    x = gg.zeros(2, 1, 3, 3, dtype=gg.float64)
    with pytest.raises(ValueError, match="expected mode"):
        F.grid_sample(x, gg.zeros(2, 2, 2, 2, dtype=gg.float64), mode="area")
    with pytest.raises(ValueError, match="expected padding_mode"):
        F.grid_sample(x, gg.zeros(2, 2, 2, 2, dtype=gg.float64), padding_mode="wrap")
    with pytest.raises(RuntimeError, match=r"grid \[2, 2, 2, 3\]"):
        F.grid_sample(x, gg.zeros(2, 2, 2, 3, dtype=gg.float64), align_corners=False)
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.grid_sample(x, gg.zeros(2, 2, 2, 2, dtype=gg.float64), "bicubic", align_corners=False)


# ---- CTC ---------------------------------------------------------------------------------------


CTC_CASES = [
    # (T, C, padded targets, input lengths, target lengths, blank)
    (6, 4, [[1, 2, 2], [3, 3, 1], [1, 1, 1]], [6, 5, 6], [3, 2, 3], 0),
    (5, 5, [[4, 4, 0], [2, 0, 1]], [5, 3], [2, 0], 3),  # an empty target: only blanks
    (8, 3, [[1, 2, 1, 2], [2, 2, 2, 2]], [8, 7], [4, 4], 0),
    (4, 4, [[1, 1, 1], [1, 2, 3]], [4, 2], [3, 3], 0),  # both infeasible
]


@pytest.mark.parametrize(
    ("case", "zero_infinity"),
    # an infinite loss without zero_infinity (NaN gradients): the next test
    [(c, z) for c in CTC_CASES for z in (False, True) if z or c is not CTC_CASES[3]],
)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("concatenated", [False, True])
def test_ctc_loss_matches_torch(case, reduction, zero_infinity, concatenated):
    t, c, targets, il, tl, blank = case
    x = np.random.default_rng(5).standard_normal((t, len(il), c))
    tg = np.array(targets)
    if concatenated:
        tg = np.concatenate([row[:n] for row, n in zip(tg, tl)])
    loss = nn.CTCLoss(blank, reduction, zero_infinity)
    tloss = tnn.CTCLoss(blank, reduction, zero_infinity)
    results = []
    for lib, fn in ((gg, loss), (torch, tloss)):
        logits = lib.tensor(x, requires_grad=True)
        raw = lib.tensor(x, requires_grad=True)  # used directly as log-probabilities too
        lp = logits.log_softmax(2)
        out = fn(lp, lib.tensor(tg), lib.tensor(il), lib.tensor(tl))
        out.sum().backward()
        fn(raw, lib.tensor(tg), tuple(il), tuple(tl)).sum().backward()
        results.append((out, logits.grad, raw.grad, out.grad_fn.name()))
    (out, g1, g2, name), (tout, tg1, tg2, tname) = results
    assert name == tname
    assert tuple(out.shape) == tuple(tout.shape)
    _close(out, tout)
    _close(g1, tg1)
    _close(g2, tg2)


def test_ctc_mean_divides_by_target_lengths_and_infinite_losses():
    x = gg.tensor(np.random.default_rng(6).standard_normal((6, 2, 4))).log_softmax(2)
    targets, il, tl = gg.tensor([[1, 2, 3], [2, 2, 0]]), gg.tensor([6, 6]), gg.tensor([3, 2])
    per_seq = F.ctc_loss(x, targets, il, tl, reduction="none")
    mean = F.ctc_loss(x, targets, il, tl)
    assert mean.item() == pytest.approx((per_seq[0].item() / 3 + per_seq[1].item() / 2) / 2)
    # two 1s need a blank between them: 2 frames cannot hold [1, 1]
    lp = gg.tensor(np.random.default_rng(7).standard_normal((2, 1, 3)), requires_grad=True)
    tlp = torch.tensor(lp.detach().numpy(), requires_grad=True)
    out = F.ctc_loss(lp, gg.tensor([[1, 1]]), [2], [2], reduction="sum")
    tout = TF.ctc_loss(tlp, torch.tensor([[1, 1]]), [2], [2], reduction="sum")
    assert out.item() == tout.item() == float("inf")
    out.backward()
    tout.backward()
    np.testing.assert_array_equal(np.isnan(lp.grad.numpy()), np.isnan(tlp.grad.numpy()))
    z = F.ctc_loss(lp, gg.tensor([[1, 1]]), [2], [2], reduction="sum", zero_infinity=True)
    assert z.item() == 0.0


def test_ctc_unbatched_and_errors():
    x = np.random.default_rng(8).standard_normal((5, 4))
    a, ta = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = F.ctc_loss(a.log_softmax(1), gg.tensor([1, 2]), [5], [2], reduction="none")
    tout = TF.ctc_loss(ta.log_softmax(1), torch.tensor([1, 2]), [5], [2], reduction="none")
    assert out.shape == tout.shape == ()
    _close(out, tout)
    out.backward()
    tout.backward()
    _close(a.grad, ta.grad)
    lp = gg.zeros(5, 2, 4, dtype=gg.float64)
    with pytest.raises(RuntimeError, match=r"input_lengths\[1\] = 6"):
        F.ctc_loss(lp, gg.tensor([[1], [2]]), [5, 6], [1, 1])
    with pytest.raises(RuntimeError, match="other than the blank"):
        F.ctc_loss(lp, gg.tensor([[1], [0]]), [5, 5], [1, 1])
    with pytest.raises(RuntimeError, match="one entry per sequence"):
        F.ctc_loss(lp, gg.tensor([[1], [2]]), [5], [1, 1])
    with pytest.raises(RuntimeError, match=r"log_probs of shape \(T, N, C\)"):
        F.ctc_loss(gg.zeros(5, dtype=gg.float64), gg.tensor([1]), [5], [1])
    w = gg.tensor(np.zeros((3, 1, 3)), requires_grad=True)
    (g,) = gg.autograd.grad(F.ctc_loss(w, gg.tensor([[1]]), [3], [1]), [w], create_graph=True)
    with pytest.raises(RuntimeError, match="ctc_loss"):
        g.sum().backward()


# ---- adaptive softmax --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cutoffs", "div_value", "head_bias"), [([4, 9, 15], 2.0, False), ([5], 4.0, True)]
)
def test_adaptive_log_softmax_matches_torch(cutoffs, div_value, head_bias):
    torch.manual_seed(0)
    theirs = tnn.AdaptiveLogSoftmaxWithLoss(16, 20, cutoffs, div_value, head_bias).double()
    ours = nn.AdaptiveLogSoftmaxWithLoss(16, 20, cutoffs, div_value, head_bias).double()
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    _copy(ours, theirs)
    x = np.random.default_rng(9).standard_normal((12, 16))
    target = np.array([0, 3, 4, 8, 9, 14, 15, 19, 2, 10, 16, 1])
    a, ta = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(a, gg.tensor(target)), theirs(ta, torch.tensor(target))
    assert type(out).__name__ == "_ASMoutput" and out._fields == ("output", "loss")
    _close(out.output, tout.output)
    _close(out.loss, tout.loss)
    (out.loss + 0.5 * out.output[3]).backward()
    (tout.loss + 0.5 * tout.output[3]).backward()
    _close(a.grad, ta.grad)
    _same_grads(ours, theirs)
    _close(ours.log_prob(a), theirs.log_prob(ta))
    assert np.allclose(np.exp(ours.log_prob(a).detach().numpy()).sum(1), 1.0)
    with torch.no_grad():  # make some rows' head argmax a cluster, so predict looks inside
        theirs.head.weight[-1].mul_(8.0)
    _copy(ours, theirs)
    pred = ours.predict(a)
    assert (pred.numpy() >= cutoffs[0]).any() and (pred.numpy() < cutoffs[0]).any()
    np.testing.assert_array_equal(pred.numpy(), theirs.predict(ta).numpy())
    one, tone = ours(a[0], gg.tensor(target[0])), theirs(ta[0], torch.tensor(target[0]))
    assert one.output.shape == tone.output.shape == ()
    _close(one.output, tone.output)


def test_adaptive_log_softmax_errors_like_torch():
    for cutoffs in ([], [5, 3], [0, 4], [4, 20]):
        with pytest.raises(ValueError) as ours:
            nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs)
        with pytest.raises(ValueError) as theirs:
            tnn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs)
        assert " ".join(str(ours.value).split()).endswith(" ".join(str(theirs.value).split()))
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4])
    with pytest.raises(RuntimeError, match=r"Target values should be in \[0, 9\]"):
        m(gg.zeros(2, 8), gg.tensor([1, 10]))
    with pytest.raises(RuntimeError, match="same size in the batch dimension"):
        m(gg.zeros(3, 8), gg.tensor([1, 2]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m(gg.zeros(2, 8), gg.tensor([1, 9]))
