"""Layers Keras lacks."""

from kerasgen.layers.likelihood import DecoderLikelihood
from kerasgen.layers.standardize import Standardize
from kerasgen.layers.vector_quantizer import VectorQuantizer

__all__ = ["DecoderLikelihood", "Standardize", "VectorQuantizer"]
