"""kerasgen: deep generative models for Keras 3 (TensorFlow backend).

    import kerasgen as kg
    ds = kg.data.load("digits", batch_size=64)
    model = kg.models.get("dcgan", data_shape=(8, 8, 1))
    model.compile()
    model.fit(ds, epochs=5)
    x = model.sample(16, seed=0)
"""

import os as _os

_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_SUBMODULES = ("callbacks", "data", "downloads", "export", "io", "latent", "layers", "losses", "metrics", "models", "networks", "noise",
               "plotting", "precision", "registry", "report")


def __getattr__(name):
    """Submodules load on first use, so `kerasgen.export.OnnxGenerator` runs without TensorFlow."""
    import importlib

    if name in _SUBMODULES:
        module = importlib.import_module(f"kerasgen.{name}")
        if name == "registry":
            importlib.import_module("kerasgen.models")  # registers the presets
        return module
    if name in ("ALGORITHMS", "PRESETS"):
        importlib.import_module("kerasgen.models")
        return getattr(importlib.import_module("kerasgen.registry"), name)
    raise AttributeError(f"module 'kerasgen' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_SUBMODULES, "ALGORITHMS", "PRESETS"])


__all__ = [*_SUBMODULES, "ALGORITHMS", "PRESETS", "__version__"]
