"""Algorithms and presets: `get(name, data=info)`, `list()`, `load(path)`."""

from __future__ import annotations

import builtins
import re

from kerasgen import registry
from kerasgen.models.adversarial import BEGAN, GAN, VEEGAN, BiGAN, SemiSupervisedGAN
from kerasgen.models.base import GenerativeModel
from kerasgen.models.files import ModelFileError, load
from kerasgen.models.flows import Flow
from kerasgen.models.translation import CycleGAN, Translation
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
        num_classes: label classes; wins over `data`. Conditional presets and classifiers (the
            semi-supervised GAN) need them.
        **overrides: passed to the preset builder (network sizes, seed, `num_levels`, ...); they win
            over what `data` says.

    Returns:
        An uncompiled model; `compile()` applies the preset's optimiser defaults.

    Raises:
        ValueError: an unknown preset, a data kind the preset does not declare, a conditional preset
            without labels, a malformed shape, an unknown override, or an override of a setting that defines
            the preset (`loss` of `lsgan`).

    Example:
        >>> ds, info = kerasgen.data.load("digits", return_info=True)
        >>> model = get("cgan", data=info)          # (8, 8, 1) images, 10 classes
        >>> model.num_classes
        10
    """
    preset = registry.get_preset(name)
    if preset.family == "translation":
        return _get_translation(preset, data, data_shape, overrides)
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
    if num_classes is None and info is not None and preset.needs_classes:
        num_classes = info.num_classes
    if preset.needs_classes and not num_classes:
        source = f"the data {info.spec!r} have no labels" if info is not None else "pass num_classes"
        what = "is conditional" if preset.needs_labels else "classifies"
        raise ValueError(f"preset {name!r} {what} and needs labelled data: {source}")
    if num_classes is not None and preset.labels == "none":
        raise ValueError(f"preset {name!r} takes no labels (num_classes={num_classes})")
    if preset.uses_levels and kind == "images" and info is not None and info.num_levels:
        overrides.setdefault("num_levels", int(info.num_levels))
    try:
        return preset.builder(data_shape, latent_dim=latent_dim, num_classes=num_classes, **overrides)
    except TypeError as error:  # a setting that defines the preset, such as `loss` of `lsgan`
        fixed = re.search(r"got multiple values for keyword argument '(\w+)'", str(error))
        if not fixed:
            raise
        raise ValueError(f"preset {name!r} sets {fixed.group(1)!r} itself, so it cannot be overridden; build the "
                         f"algorithm (e.g. kg.models.GAN) with the networks and settings you want instead") from None


def _get_translation(preset, data, target_shape, overrides):
    """A translation preset sized from a `DataInfo` of pairs or unpaired domains (`kerasgen.data.pairs`,
    `kerasgen.data.unpaired`), or from `source_shape` and `data_shape` (the target's) given directly."""
    source_shape = overrides.pop("source_shape", None)
    if data is not None:
        if not hasattr(data, "source_shape"):
            raise TypeError(f"data must be a kerasgen.data.DataInfo, got {type(data).__name__}")
        if data.source_shape is None or data.target_shape is None:
            kind = " and ".join(preset.data)
            raise ValueError(f"preset {preset.name!r} translates images and needs {kind} data: build it with "
                             f"kerasgen.data.{'unpaired' if 'unpaired' in preset.data else 'pairs'}(..., "
                             f"return_info=True); {data.spec!r} holds single examples")
        kind = "unpaired" if data.task == "unpaired" else "pairs"
        if not preset.supports(kind):
            raise ValueError(f"preset {preset.name!r} trains on {' and '.join(preset.data)} data, not {kind}")
        source_shape = source_shape or data.source_shape
        target_shape = target_shape or data.target_shape
    if source_shape is None or target_shape is None:
        raise ValueError(f"pass data=info (from kerasgen.data.pairs or unpaired with return_info=True), or "
                         f"source_shape and data_shape, to build {preset.name!r}")
    source_shape, target_shape = (tuple(int(s) for s in shape) for shape in (source_shape, target_shape))
    for what, shape in (("source", source_shape), ("target", target_shape)):
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"the {what} shape must be (H, W, C), got {shape}")
    overrides.pop("latent_dim", None)
    overrides.pop("num_classes", None)
    return preset.builder(target_shape, source_shape=source_shape, **overrides)


def list(family: str | None = None, data: str | None = None) -> dict:  # noqa: A001 - the public name the API promises
    """Registered presets by name, optionally only those of one `family` or data kind.

    Args:
        family: "adversarial", "variational", "flow" or "translation".
        data: "vectors", "images", "pairs" or "unpaired".

    Returns:
        {name: `kerasgen.registry.Preset`} sorted by name; each record has `family`, `description`,
        `data`, `labels`, `small` and `reference`.
    """
    return {name: p for name, p in sorted(registry.PRESETS.items())
            if (family is None or p.family == family) and (data is None or p.supports(data))}


__all__ = ["AAE", "BEGAN", "BiGAN", "SemiSupervisedGAN", "VEEGAN", "CycleGAN", "Translation", "Flow", "FlowPosteriorVAE", "GAN", "HierarchicalVAE", "VAE", "VQVAE", "GenerativeModel", "ModelFileError", "get", "list", "load"]

