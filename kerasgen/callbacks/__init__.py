"""Training callbacks: sample grids, sample-quality metrics (FID/KID) during training, checkpoints
for resuming, and a stop on NaN or infinite metrics."""

from kerasgen.callbacks.checkpoint import Checkpoint, resume
from kerasgen.callbacks.nonfinite import StopOnNonFinite
from kerasgen.callbacks.sample_grid import SampleGrid
from kerasgen.callbacks.sample_quality import SampleQuality

__all__ = ["Checkpoint", "SampleGrid", "SampleQuality", "StopOnNonFinite", "resume"]
