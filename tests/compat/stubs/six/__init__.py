"""A stand-in for ``six`` (not installed): ``six.moves.urllib`` is Python 3's ``urllib``."""

from six import moves

__all__ = ["moves"]
