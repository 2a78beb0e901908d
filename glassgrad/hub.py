"""``glassgrad.hub``: pretrained weights by URL, as ``torch.hub`` fetches them.

``load_state_dict_from_url(url)`` downloads a checkpoint once into the hub cache (the same
directory PyTorch uses, ``$TORCH_HOME/hub/checkpoints``, so weights PyTorch fetched before are
reused) and loads it with ``glassgrad.load``, which reads PyTorch's checkpoints of tensors:
``model.load_state_dict(torch.hub.load_state_dict_from_url(url))`` works as written.

``hub.load``/``list``/``help`` run a GitHub repository's ``hubconf.py``, which builds PyTorch's
own classes; glassgrad refuses them with an error saying what to do instead.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import uuid
import warnings
from typing import Any
from urllib.parse import urlparse
from urllib.request import Request, urlopen

__all__ = [
    "download_url_to_file",
    "get_dir",
    "help",
    "list",
    "load",
    "load_state_dict_from_url",
    "set_dir",
]

HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
_hub_dir: str | None = None


def get_dir() -> str:
    """The hub cache: ``set_dir``'s, else ``$TORCH_HOME/hub`` (``$XDG_CACHE_HOME/torch/hub``,
    ``~/.cache/torch/hub`` by default), as in PyTorch."""
    if _hub_dir is not None:
        return _hub_dir
    cache = os.getenv("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    return os.path.join(
        os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(cache, "torch"))), "hub"
    )


def set_dir(d: str | os.PathLike[str]) -> None:
    """Use ``d`` as the hub cache from now on."""
    global _hub_dir
    _hub_dir = os.path.expanduser(os.fspath(d))


def download_url_to_file(
    url: str, dst: str, hash_prefix: str | None = None, progress: bool = True
) -> None:
    """Download ``url`` to ``dst`` through a temporary file beside it (a broken download never
    replaces a good file); with ``hash_prefix``, the file's SHA-256 must start with it."""
    dst = os.path.expanduser(dst)
    tmp = f"{dst}.{uuid.uuid4().hex}.partial"
    sha256 = hashlib.sha256() if hash_prefix else None
    try:
        with urlopen(Request(url, headers={"User-Agent": "torch.hub"})) as u, open(tmp, "wb") as f:
            while chunk := u.read(128 * 1024):
                f.write(chunk)
                if sha256 is not None:
                    sha256.update(chunk)
        if sha256 is not None and hash_prefix:
            digest = sha256.hexdigest()
            if digest[: len(hash_prefix)] != hash_prefix:
                raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "{digest}")')
        shutil.move(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_state_dict_from_url(
    url: str,
    model_dir: str | None = None,
    map_location: Any = None,
    progress: bool = True,
    check_hash: bool = False,
    file_name: str | None = None,
    weights_only: bool = False,
) -> Any:
    """The checkpoint at ``url`` (a PyTorch or glassgrad one), downloaded into ``model_dir``
    (``get_dir()/checkpoints``) unless it is there already; ``check_hash``: the file name's
    ``-<sha256 prefix>.`` part must match the download."""
    from glassgrad.serialization import load as _load

    if os.getenv("TORCH_MODEL_ZOO"):
        warnings.warn(
            "TORCH_MODEL_ZOO is deprecated, please use env TORCH_HOME instead", stacklevel=2
        )
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        sys.stdout.write(f'Downloading: "{url}" to {cached_file}\n')
        match = HASH_REGEX.search(filename) if check_hash else None
        download_url_to_file(url, cached_file, match.group(1) if match else None, progress)
    return _load(cached_file, map_location=map_location, weights_only=weights_only)


def _refuse(name: str) -> Any:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            f"hub.{name}: glassgrad does not run a repository's hubconf.py (it builds PyTorch's "
            "own model classes); define the model in your code and load its weights with "
            "model.load_state_dict(glassgrad.hub.load_state_dict_from_url(url))"
        )

    refused.__name__ = refused.__qualname__ = name
    refused.__doc__ = f"Refused: ``torch.hub.{name}`` runs PyTorch models from GitHub."
    return refused


load = _refuse("load")
list = _refuse("list")  # PyTorch's names, shadowing the builtins here
help = _refuse("help")
