"""A stand-in for ``tiktoken`` (imported by nanoGPT's sample.py, used only without a meta.pkl,
which the suite's character-level data always has)."""


def get_encoding(name: str) -> None:
    """Refuse: no BPE vocabularies are bundled."""
    raise RuntimeError(f"tiktoken.get_encoding({name!r}): no BPE vocabularies in the suite")
