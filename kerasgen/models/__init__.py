"""Algorithms and presets: `get(name, data=info)`, `list()`, `load(path)`."""

from __future__ import annotations

import builtins

from kerasgen import registry
from kerasgen.models.adversarial import GAN
from kerasgen.models.base import GenerativeModel
from kerasgen.models.files import ModelFileError, load
from kerasgen.models.flows import Flow
from kerasgen.models.variational import AAE, VAE, VQVAE, FlowPosteriorVAE, HierarchicalVAE


def get(name: str, data=None, *, data_shape=None, latent_dim: int | None = None, num_classes: int | None = None,
        **overrides):
    """Builds the preset `name`, sized from the data.

    Args:
        name: a preset from `list()`.
        data: a `kerasgen.data.DataInfo` (from `kerasgen.data.load(..., return_info=True)`): the
            preset takes the example shape, the classes (when it requires labels) and, for image
            flows, the pixel quantisation levels from it. A shape tuple is accepted as `data_shape`.
        data_shape: shape of one example, e.g. (28, 28, 1) or (2,); wins over `data`.
        latent_dim: noise size (the preset's default when None).
        num_classes: label classes; wins over `data`. Conditional presets need them.
        **overrides: passed to the preset builder (network sizes, seed, `num_levels`, ...); they win
            over what `data` says.

    Returns:
        An uncompiled model; `compile()` applies the preset's optimiser defaults.

    Raises:
        ValueError: an unknown preset, a data kind the preset does not declare, a conditional preset
            without labels, or a malformed shape.

    Example:
        >>> ds, info = kerasgen.data.load("digits", return_info=True)
        >>> model = get("cgan", data=info)          # (8, 8, 1) images, 10 classes
        >>> model.num_classes
        10
    """
    preset = registry.get_preset(name)
    info = None
    if data is not None and not isinstance(data, (tuple, builtins.list)):
        info = data
        if not hasattr(info, "data_shape"):
            raise TypeError(f"data must be a kerasgen.data.DataInfo or a shape, got {type(data).__name__}")
    elif data is not None:
        if data_shape is not None:
            raise ValueError("pass the shape once: as data or as data_shape")
        data_shape = data
    if data_shape is None:
        if info is None:
            raise ValueError(f"pass data=info (from kerasgen.data.load(..., return_info=True)) or data_shape to "
                             f"build {name!r}")
        data_shape = info.data_shape
    data_shape = tuple(int(s) for s in data_shape)
    if len(data_shape) not in (1, 3) or min(data_shape) < 1:
        raise ValueError(
            f"data_shape must be (D,) for vectors or (H, W, C) for images, got {data_shape}; "
            "add a channel axis to grey-scale images, e.g. (28, 28, 1)"
        )
    kind = "images" if len(data_shape) == 3 else "vectors"
    if not preset.supports(kind):
        raise ValueError(f"preset {name!r} models {' and '.join(preset.data)}, not {kind} of shape {data_shape}")
    if latent_dim is not None and int(latent_dim) < 1:
        raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
    if num_classes is None and info is not None and preset.needs_labels:
        num_classes = info.num_classes
    if preset.needs_labels and not num_classes:
        source = f"the data {info.spec!r} have no labels" if info is not None else "pass num_classes"
        raise ValueError(f"preset {name!r} is conditional and needs labelled data: {source}")
    if num_classes is not None and preset.labels == "none":
        raise ValueError(f"preset {name!r} takes no labels (num_classes={num_classes})")
    if preset.uses_levels and kind == "images" and info is not None and info.num_levels:
        overrides.setdefault("num_levels", int(info.num_levels))
    return preset.builder(data_shape, latent_dim=latent_dim, num_classes=num_classes, **overrides)


def list(family: str | None = None, data: str | None = None) -> dict:  # noqa: A001 - the public name the API promises
    """Registered presets by name, optionally only those of one `family` or data kind.

    Args:
        family: "adversarial", "variational" or "flow".
        data: "vectors" or "images".

    Returns:
        {name: `kerasgen.registry.Preset`} sorted by name; each record has `family`, `description`,
        `data`, `labels`, `small` and `reference`.
    """
    return {name: p for name, p in sorted(registry.PRESETS.items())
            if (family is None or p.family == family) and (data is None or p.supports(data))}


__all__ = ["AAE", "Flow", "FlowPosteriorVAE", "GAN", "HierarchicalVAE", "VAE", "VQVAE", "GenerativeModel", "ModelFileError", "get", "list", "load"]

