"""Training callbacks: sample grids, and sample-quality metrics (FID/KID) during training."""

from kerasgen.callbacks.sample_grid import SampleGrid
from kerasgen.callbacks.sample_quality import SampleQuality

__all__ = ["SampleGrid", "SampleQuality"]
