"""Data: `load(spec, ...)` returns a `tf.data.Dataset`; images are scaled to [-1, 1]."""

from kerasgen.data.arrays import ArrayData, DataInfo
from kerasgen.data.loader import density_of, load, load_arrays, stream
from kerasgen.data.scaling import images_to_model_range, to_display
from kerasgen.data.toy2d import DENSITIES, GaussianMixture2D, Toy2D, get_density

__all__ = [
    "ArrayData", "DataInfo", "density_of", "load", "load_arrays", "stream", "images_to_model_range", "to_display",
    "DENSITIES", "GaussianMixture2D", "Toy2D", "get_density",
]
