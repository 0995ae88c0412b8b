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

from kerasgen import callbacks, data, io, latent, layers, losses, metrics, models, networks, plotting  # noqa: E402
from kerasgen.registry import ALGORITHMS, PRESETS  # noqa: E402

__version__ = "0.1.0"

__all__ = ["callbacks", "data", "io", "latent", "layers", "losses", "metrics", "models", "networks", "plotting",
           "ALGORITHMS", "PRESETS", "__version__"]
