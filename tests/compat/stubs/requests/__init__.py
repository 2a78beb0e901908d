"""A stand-in for ``requests``: the programs' data is bundled, so nothing is downloaded; a call
says so instead of reaching the network."""


def get(url: str, *args: object, **kwargs: object) -> None:
    """Refuse: the compatibility suite runs offline."""
    raise RuntimeError(f"requests.get({url!r}): the compatibility suite runs offline")
