"""One place where algorithms and presets are registered.

`register_algorithm` makes a model class loadable from `.keras` files and known
by name; `register_preset` names a builder that pairs an algorithm with networks
and hyper-parameters known to train. `kerasgen.models.get` / `list` read here.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import keras

ALGORITHMS: dict[str, type] = {}
PRESETS: dict[str, "Preset"] = {}


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named recipe: `builder(data_shape, latent_dim=None, num_classes=None, **kw)`."""

    name: str
    family: str
    description: str
    builder: Callable
    needs_labels: bool = False


def register_algorithm(cls):
    """Class decorator: Keras-serialisable under package "kerasgen" and known by name."""
    keras.saving.register_keras_serializable(package="kerasgen")(cls)
    ALGORITHMS[cls.__name__] = cls
    return cls


def register_preset(name: str, family: str, description: str, needs_labels: bool = False):
    """Function decorator registering a preset builder under `name`."""

    def wrap(builder):
        if name in PRESETS:
            raise ValueError(f"preset {name!r} is already registered")
        PRESETS[name] = Preset(name, family, description, builder, needs_labels)
        return builder

    return wrap


def get_preset(name: str) -> Preset:
    """The registered preset `name`; a ValueError lists the known ones otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known presets: {', '.join(sorted(PRESETS))}") from None
