"""Training callbacks."""

from kerasgen.callbacks.sample_grid import SampleGrid

__all__ = ["SampleGrid"]
