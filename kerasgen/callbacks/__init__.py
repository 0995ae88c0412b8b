"""Training callbacks: sample grids, sample-quality metrics (FID/KID) during training, sample
pictures and the configuration in TensorBoard, checkpoints for resuming, and a stop on NaN or
infinite metrics."""

from kerasgen.callbacks.checkpoint import Checkpoint, resume
from kerasgen.callbacks.nonfinite import StopOnNonFinite
from kerasgen.callbacks.sample_grid import SampleGrid, SamplePictures
from kerasgen.callbacks.sample_quality import SampleQuality
from kerasgen.callbacks.tensorboard import TensorBoardSamples, tensorboard_callbacks

__all__ = ["Checkpoint", "SampleGrid", "SamplePictures", "SampleQuality", "StopOnNonFinite", "TensorBoardSamples",
           "resume", "tensorboard_callbacks"]
