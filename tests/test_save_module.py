"""``glassgrad.save(model, f)`` / ``glassgrad.load(f)`` for whole modules, without pickle: the
class's import path and the module's ``__dict__``, rebuilt only for allowed classes."""

from __future__ import annotations

import importlib.util
import io
import json
import os

import numpy as np
import pytest

import glassgrad as gg
import glassgrad.nn as nn
import glassgrad.nn.functional as F
from glassgrad import serialization
from tests.compat import harness

WLM = os.path.join(os.path.dirname(__file__), "compat", "programs", "word_language_model")


class TwoTower(nn.Module):
    """A user's model: layers, a tied weight, a buffer, an activation function and plain data."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(11, 8)
        self.rnn = nn.LSTM(8, 8, num_layers=2)
        self.block = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=F.gelu)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(8, 11)
        self.head.weight = self.emb.weight  # tied
        self.register_buffer("scale", gg.tensor([0.5]))
        self.act = F.relu
        self.config = {"layers": (2, 3), "name": "tt", "tags": {"a"}}

    def forward(self, x: gg.Tensor) -> gg.Tensor:
        h = self.drop(self.emb(x))
        h, _ = self.rnn(h)
        h = self.block(self.act(h)) * self.scale
        return self.head(h)


def my_activation(x: gg.Tensor) -> gg.Tensor:
    return F.relu(x) * 2


def roundtrip(obj):
    buf = io.BytesIO()
    gg.save(obj, buf)
    buf.seek(0)
    return gg.load(buf)


def header(obj) -> dict:
    buf = io.BytesIO()
    gg.save(obj, buf)
    buf.seek(0)
    with np.load(buf) as z:
        return json.loads(z[serialization.HEADER_KEY].tobytes())


def test_glassgrad_layers_round_trip_with_equal_outputs(tmp_path):
    gg.manual_seed(0)
    model = nn.Sequential(
        nn.Embedding(10, 8),
        nn.TransformerEncoderLayer(8, 2, 16, activation=F.gelu),
        nn.Dropout(0.1),
        nn.Linear(8, 10),
    )
    model.eval()
    gg.save(model, tmp_path / "m.pt")
    loaded = gg.load(tmp_path / "m.pt")  # glassgrad's own classes need no allow-list
    assert type(loaded) is nn.Sequential and loaded is not model
    assert loaded[1].activation is F.gelu and not loaded.training
    x = gg.tensor([[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(loaded(x)._data, model(x)._data)
    for (n1, p1), (n2, p2) in zip(model.named_parameters(), loaded.named_parameters()):
        assert n1 == n2 and type(p2) is nn.Parameter and p2.requires_grad
        np.testing.assert_array_equal(p1._data, p2._data)
    assert str(loaded) == str(model)


def test_lstm_round_trip_and_frozen_parameters():
    gg.manual_seed(1)
    lstm = nn.LSTM(4, 5, num_layers=2, dropout=0.0)
    lstm.weight_hh_l1.requires_grad_(False)
    loaded = roundtrip(lstm)
    assert not loaded.weight_hh_l1.requires_grad and loaded.weight_ih_l0.requires_grad
    x = gg.randn(3, 2, 4)
    (a, (h, c)), (b, (h2, c2)) = lstm(x), loaded(x)
    for u, v in ((a, b), (h, h2), (c, c2)):
        np.testing.assert_array_equal(u._data, v._data)
    loaded(x)[0].sum().backward()  # trainable after load
    assert loaded.weight_ih_l0.grad is not None and loaded.weight_hh_l1.grad is None


def test_user_module_needs_safe_globals_and_keeps_ties():
    gg.manual_seed(2)
    model = TwoTower().eval()
    buf = io.BytesIO()
    gg.save(model, buf)
    buf.seek(0)
    with pytest.raises(ValueError, match=r"TwoTower.*safe_globals\(\[TwoTower\]\).*state_dict"):
        gg.load(buf)
    buf.seek(0)
    with serialization.safe_globals([TwoTower]):
        assert TwoTower in serialization.get_safe_globals()
        loaded = gg.load(buf)
    assert TwoTower not in serialization.get_safe_globals()  # only for the with block
    assert type(loaded) is TwoTower
    assert loaded.head.weight is loaded.emb.weight  # tied weights stay tied
    assert len(list(loaded.parameters())) == len(list(model.parameters()))
    assert loaded.act is F.relu and loaded.config == model.config
    assert isinstance(loaded.config["layers"], tuple)
    x = gg.tensor([[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(loaded(x)._data, model(x)._data)
    loaded.train()
    assert loaded.drop.training and loaded.rnn.training


def test_add_safe_globals_is_permanent_until_cleared():
    model = TwoTower()
    try:
        serialization.add_safe_globals([TwoTower])
        assert type(roundtrip(model)) is TwoTower
    finally:
        serialization.clear_safe_globals()
    with pytest.raises(ValueError, match="not rebuild unless allowed"):
        roundtrip(model)
    with serialization.safe_globals([f"{__name__}.TwoTower"]):  # by name, as a string
        assert type(roundtrip(model)) is TwoTower


def test_shared_submodule_and_cycles_stay_one_object():
    lin = nn.Linear(3, 3)
    model = nn.Sequential(lin, nn.ReLU(), lin)
    object.__setattr__(lin, "owner", model)  # a reference back up the tree
    loaded = roundtrip(model)
    assert loaded[0] is loaded[2] and loaded[0].owner is loaded


def test_format_is_documented_json():
    root = header(nn.Linear(2, 3))["root"]
    assert root["t"] == "module" and root["module"] == "glassgrad.nn.linear"
    assert root["qualname"] == "Linear"
    attrs = dict(root["attrs"])
    assert attrs["in_features"] == {"t": "int", "v": "2"}
    assert {k["v"] for k, _ in attrs["_parameters"]["items"]} == {"weight", "bias"}
    activation = dict(
        header(nn.TransformerEncoderLayer(4, 1, 8, activation=F.gelu))["root"]["attrs"]
    )
    assert activation["activation"] == {
        "t": "global",
        "module": "glassgrad.nn.functional",
        "qualname": "gelu",
    }
    assert "module" in (serialization.__doc__ or "") and "safe_globals" in (
        serialization.__doc__ or ""
    )


def test_unstorable_attributes_are_refused_by_path(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2))
    model[0].foo = lambda x: x
    with pytest.raises(TypeError, match=r"can't store model\.0\.foo \(a lambda\)"):
        gg.save(model, tmp_path / "m.pt")

    def local(x):
        return x

    model[0].foo = local
    with pytest.raises(TypeError, match=r"model\.0\.foo \(a function defined inside"):
        gg.save(model, tmp_path / "m.pt")
    with open(tmp_path / "f.txt", "w") as fh:
        model[0].foo = fh
        with pytest.raises(TypeError, match=r"model\.0\.foo \(a TextIOWrapper\)"):
            gg.save(model, tmp_path / "m.pt")
    assert sorted(os.listdir(tmp_path)) == ["f.txt"]  # nothing written, no temporary left


def test_functions_outside_glassgrad_need_allowing():
    layer = nn.TransformerEncoderLayer(4, 1, 8, activation=my_activation)
    buf = io.BytesIO()
    gg.save(layer, buf)
    buf.seek(0)
    with pytest.raises(ValueError, match=r"function .*my_activation.*\[my_activation\]"):
        gg.load(buf)
    buf.seek(0)
    with serialization.safe_globals([my_activation]):
        assert gg.load(buf).activation is my_activation


def test_a_forged_class_name_is_refused_without_import(tmp_path):
    buf = io.BytesIO()
    gg.save(nn.Linear(1, 1), buf)
    data = dict(np.load(io.BytesIO(buf.getvalue())))
    head = json.loads(data[serialization.HEADER_KEY].tobytes())
    head["root"]["module"] = "os"
    head["root"]["qualname"] = "system"
    data[serialization.HEADER_KEY] = np.frombuffer(json.dumps(head).encode(), np.uint8)
    np.savez(tmp_path / "forged.npz", **data)
    with pytest.raises(ValueError, match=r"module class os\.system.*not rebuild unless allowed"):
        gg.load(tmp_path / "forged.npz")
    head["root"]["module"] = "glassgrad.nn.functional"
    head["root"]["qualname"] = "relu"  # glassgrad's, but not a Module class
    data[serialization.HEADER_KEY] = np.frombuffer(json.dumps(head).encode(), np.uint8)
    np.savez(tmp_path / "forged.npz", **data)
    with pytest.raises(ValueError, match=r"corrupt.*not an nn\.Module class"):
        gg.load(tmp_path / "forged.npz")


def load_wlm_model():
    """pytorch/examples' word_language_model/model.py, as published, on glassgrad."""
    spec = importlib.util.spec_from_file_location("wlm_model", os.path.join(WLM, "model.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with harness.torch_is_glassgrad():
        spec.loader.exec_module(module)
    return module


def test_word_language_model_save_and_load_pattern(tmp_path):
    """main.py's ``torch.save(model, f)`` and ``with torch.serialization.safe_globals([...]):
    model = torch.load(f)``, with glassgrad in torch's place."""
    wlm = load_wlm_model()
    gg.manual_seed(3)
    model = wlm.RNNModel("LSTM", 20, 8, 8, 2, dropout=0.2, tie_weights=True)
    path = tmp_path / "model.pt"
    with open(path, "wb") as f:
        gg.save(model, f)
    safe = [
        wlm.RNNModel,
        gg.nn.modules.dropout.Dropout,
        gg.nn.modules.linear.Linear,
        gg.nn.modules.rnn.GRU,
        gg.nn.modules.rnn.LSTM,
        gg.nn.modules.rnn.RNN,
        gg.nn.modules.sparse.Embedding,
    ]
    with open(path, "rb") as f:
        with pytest.raises(ValueError, match="RNNModel"):
            gg.load(f)
        f.seek(0)
        with gg.serialization.safe_globals(safe):
            loaded = gg.load(f)
    assert type(loaded) is wlm.RNNModel
    assert loaded.decoder.weight is loaded.encoder.weight
    model.eval()
    loaded.eval()
    data = gg.tensor([[1, 2], [3, 4], [5, 6]])
    out, (h, c) = model(data, model.init_hidden(2))
    out2, (h2, c2) = loaded(data, loaded.init_hidden(2))
    for u, v in ((out, out2), (h, h2), (c, c2)):
        np.testing.assert_array_equal(u._data, v._data)


def test_word_language_model_transformer(tmp_path):
    wlm = load_wlm_model()
    gg.manual_seed(4)
    model = wlm.TransformerModel(20, 8, 2, 16, 2, dropout=0.0).eval()
    gg.save(model, tmp_path / "t.pt")
    with gg.serialization.safe_globals([wlm.TransformerModel, wlm.PositionalEncoding]):
        loaded = gg.load(tmp_path / "t.pt")
    src = gg.tensor([[1, 2], [3, 4], [5, 6]])
    with np.errstate(divide="ignore"):  # the program's causal mask is log(tril(ones))
        np.testing.assert_array_equal(loaded(src)._data, model(src)._data)
