"""Pickles that run code when loaded: what safe checkpoint loading must refuse."""


class Evil:
    """Unpickling this would create a file: the side effect the loader must never allow."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, 'w'))


class GetattrEvil:
    """Reaches numpy.ndarray.tofile through builtins.getattr: would write a file."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        import numpy as np
        return (np.ndarray.tofile, (np.zeros(1), self.target))
