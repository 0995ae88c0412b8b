"""Layers Keras lacks."""

from kerasgen.layers.standardize import Standardize

__all__ = ["Standardize"]
