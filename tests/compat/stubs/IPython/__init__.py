"""A stand-in for the one piece of IPython the tutorials import (``core.debugger.set_trace``)."""
