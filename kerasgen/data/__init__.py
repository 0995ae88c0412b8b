"""Data: `load(spec, ...)` returns a `tf.data.Dataset`; images are scaled to [-1, 1].

Image-to-image translation data: `pairs` / `pair_arrays` (paired tasks superres, inpaint, edges,
colorize, or the user's own pairs) and `unpaired` / `unpaired_arrays` (two domains A and B, B
optionally a known transform of A's images: `TRANSFORMS`).

The loaders (`load`, `load_arrays`, `stream`, `density_of`, and the translation loaders) import
TensorFlow on first use, so the array, scaling, transform and toy-density helpers serve
TensorFlow-free code (plotting an ONNX model's samples).
"""

import importlib

from kerasgen.data.arrays import ArrayData, DataInfo
from kerasgen.data.scaling import images_to_model_range, to_display
from kerasgen.data.toy2d import DENSITIES, GaussianMixture2D, Toy2D, get_density
from kerasgen.data.transforms import TRANSFORMS

_LAZY = {
    **dict.fromkeys(("density_of", "keep_labels_per_class", "labelled_batches", "load", "load_arrays", "stream", "stream_arrays"), "loader"),
    **dict.fromkeys(("PairData", "UnpairedData", "pair_arrays", "pairs", "unpaired_arrays", "unpaired"), "translation"),
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f"kerasgen.data.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'kerasgen.data' has no attribute {name!r}")


__all__ = [
    "ArrayData", "DataInfo", "density_of", "keep_labels_per_class", "labelled_batches", "load", "load_arrays", "stream", "stream_arrays", "images_to_model_range", "to_display",
    "DENSITIES", "GaussianMixture2D", "Toy2D", "get_density",
    "PairData", "UnpairedData", "pair_arrays", "pairs", "unpaired_arrays", "unpaired", "TRANSFORMS",
]
