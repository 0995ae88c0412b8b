"""Evaluation metrics."""

from kerasgen.metrics.modes import mode_coverage

__all__ = ["mode_coverage"]
