"""``six.moves``: the Python 3 names the examples import through it."""

import urllib
import urllib.request

__all__ = ["urllib"]
