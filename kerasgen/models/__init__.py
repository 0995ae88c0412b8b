"""Algorithms and presets: `get(name, data_shape=..., latent_dim=...)`, `list()`, `load(path)`."""

from __future__ import annotations

import builtins
import os

import keras

from kerasgen import registry
from kerasgen.models.adversarial import GAN
from kerasgen.models.base import GenerativeModel
from kerasgen.models.flows import Flow
from kerasgen.models.variational import AAE, VAE, VQVAE, FlowPosteriorVAE, HierarchicalVAE


def get(name: str, data_shape, latent_dim: int | None = None, num_classes: int | None = None, **kwargs):
    """Builds the preset `name` for data of `data_shape`.

    Args:
        name: a preset from `list()`.
        data_shape: shape of one example, e.g. (28, 28, 1) or (2,).
        latent_dim: noise size (the preset's default when None).
        num_classes: label classes, required by conditional presets.
        **kwargs: overrides passed to the preset builder (network sizes, seed, ...).

    Returns:
        An uncompiled model; `compile()` applies the preset's optimiser defaults.
    """
    preset = registry.get_preset(name)
    data_shape = tuple(int(s) for s in data_shape)
    if len(data_shape) not in (1, 3) or min(data_shape) < 1:
        raise ValueError(
            f"data_shape must be (D,) for vectors or (H, W, C) for images, got {data_shape}; "
            "add a channel axis to grey-scale images, e.g. (28, 28, 1)"
        )
    if latent_dim is not None and int(latent_dim) < 1:
        raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
    return preset.builder(data_shape, latent_dim=latent_dim, num_classes=num_classes, **kwargs)


def list() -> dict:  # noqa: A001 - the public name the API promises
    """Preset names mapped to one-line descriptions."""
    return {name: p.description for name, p in sorted(registry.PRESETS.items())}


def load(path: str):
    """Loads a model saved with `model.save(path)`, optimiser state included.

    Raises:
        FileNotFoundError: when `path` does not exist.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no saved model at {path}")
    return keras.saving.load_model(path)


__all__ = ["AAE", "Flow", "FlowPosteriorVAE", "GAN", "HierarchicalVAE", "VAE", "VQVAE", "GenerativeModel", "get", "list", "load"]
del builtins
