"""Data: `load(spec, ...)` returns a `tf.data.Dataset`; images are scaled to [-1, 1].

The loaders (`load`, `load_arrays`, `stream`, `density_of`) import TensorFlow on first use, so the
array, scaling and toy-density helpers serve TensorFlow-free code (plotting an ONNX model's samples).
"""

from kerasgen.data.arrays import ArrayData, DataInfo
from kerasgen.data.scaling import images_to_model_range, to_display
from kerasgen.data.toy2d import DENSITIES, GaussianMixture2D, Toy2D, get_density

_LOADER = ("density_of", "load", "load_arrays", "stream")


def __getattr__(name):
    if name in _LOADER:
        from kerasgen.data import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'kerasgen.data' has no attribute {name!r}")


__all__ = [
    "ArrayData", "DataInfo", "density_of", "load", "load_arrays", "stream", "images_to_model_range", "to_display",
    "DENSITIES", "GaussianMixture2D", "Toy2D", "get_density",
]
