"""Layers Keras lacks, and Keras' 2-D convolutions with faster bfloat16 kernel gradients (`conv`)."""

from kerasgen.layers.conv import Conv2D, Conv2DTranspose
from kerasgen.layers.likelihood import DecoderLikelihood
from kerasgen.layers.minibatch import MinibatchDiscrimination, MinibatchStdDev
from kerasgen.layers.spatial import ReflectionPadding2D, SubPixelUpsampling
from kerasgen.layers.standardize import Standardize
from kerasgen.layers.vector_quantizer import VectorQuantizer
from kerasgen.layers.weight_norm import WeightNormDense, initialize_weight_norm

__all__ = ["Conv2D", "Conv2DTranspose", "DecoderLikelihood", "MinibatchDiscrimination", "MinibatchStdDev",
           "ReflectionPadding2D", "Standardize",
           "SubPixelUpsampling", "VectorQuantizer", "WeightNormDense", "initialize_weight_norm"]
