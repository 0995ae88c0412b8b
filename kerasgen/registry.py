"""One place where algorithms, presets and networks are registered.

- `register_algorithm` makes a model class loadable from `.keras` files and known by name.
- `register_preset` records a `Preset`: a builder pairing an algorithm with networks and
  hyper-parameters known to train, the data kinds it supports, a small configuration for tests
  and smoke runs, and its paper reference. `kerasgen.models.get` / `list` read here.
- `register_network` names a network builder, so algorithms accept `generator="dcgan"`.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import keras

ALGORITHMS: dict[str, type] = {}
PRESETS: dict[str, "Preset"] = {}
NETWORKS: dict[tuple, Callable] = {}  # (role, name) -> builder

GENERATOR_KINDS = ("vectors", "images")  # what a generative preset declares unless told
DATA_KINDS = (*GENERATOR_KINDS, "pairs", "unpaired")  # pairs: (source, target) images; unpaired: two domains
LABEL_USES = ("none", "optional", "required", "classes")


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named recipe.

    Attributes:
        name: the name `kerasgen.models.get` takes.
        family: "adversarial", "variational", "flow" or "translation" (the algorithm family).
        description: one line.
        builder: `builder(data_shape, latent_dim=None, num_classes=None, **overrides)` -> an
            uncompiled model; translation presets get the target shape as `data_shape` and the
            source shape as `source_shape`.
        data: the data kinds its defaults train on: a subset of ("vectors", "images") for
            generators, ("pairs",) or ("unpaired",) for translation.
        labels: "none" (never conditional), "optional" (conditional when `num_classes` is passed
            explicitly), "required" (a conditional model: `num_classes` comes from the data) or
            "classes" (a classifier of the data's classes that generates unconditionally, such as the
            semi-supervised GAN: `num_classes` comes from the data, whose labels may be -1 for
            unlabelled examples).
        uses_levels: the model reads the pixel quantisation (`num_levels`) of image data.
        small: overrides giving a small, fast configuration (tests, smoke runs).
        reference: the paper (authors, year, title or arXiv id).
    """

    name: str
    family: str
    description: str
    builder: Callable = dataclasses.field(repr=False)
    data: tuple = GENERATOR_KINDS
    labels: str = "none"
    uses_levels: bool = False
    small: dict = dataclasses.field(default_factory=dict, repr=False)
    reference: str = ""

    @property
    def needs_labels(self) -> bool:
        """Whether the preset is conditional and so needs labelled data."""
        return self.labels == "required"

    @property
    def needs_classes(self) -> bool:
        """Whether the preset needs the data's number of classes (conditional presets and classifiers)."""
        return self.labels in ("required", "classes")

    def supports(self, kind: str) -> bool:
        """Whether `kind` ("vectors" or "images") is among the data kinds the preset declares."""
        return kind in self.data

    def summary(self) -> str:
        """One line: family, data kinds, labels, description."""
        kinds = "+".join(self.data) + (" (labels)" if self.needs_classes else "")
        return f"{self.family:12s} {kinds:24s} {self.description}"


def register_algorithm(cls):
    """Class decorator: Keras-serialisable under package "kerasgen" and known by name."""
    keras.saving.register_keras_serializable(package="kerasgen")(cls)
    ALGORITHMS[cls.__name__] = cls
    return cls


def register_preset(name: str, family: str, description: str, *, data=GENERATOR_KINDS, labels: str = "none",
                    uses_levels: bool = False, small: dict | None = None, reference: str = ""):
    """Function decorator registering a preset builder under `name` (see `Preset` for the fields)."""
    data = tuple(data)
    if not data or any(kind not in DATA_KINDS for kind in data):
        raise ValueError(f"preset {name!r}: data kinds must be among {DATA_KINDS}, got {data}")
    if labels not in LABEL_USES:
        raise ValueError(f"preset {name!r}: labels must be one of {LABEL_USES}, got {labels!r}")

    def wrap(builder):
        if name in PRESETS:
            raise ValueError(f"preset {name!r} is already registered")
        PRESETS[name] = Preset(name, family, description, builder, data, labels, uses_levels, dict(small or {}),
                               reference)
        return builder

    return wrap


def get_preset(name: str) -> Preset:
    """The registered preset `name`; a ValueError lists the known ones otherwise."""
    if name not in PRESETS:
        import kerasgen.models  # noqa: F401 - registers the built-in presets (this module may be imported first)
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known presets: {', '.join(sorted(PRESETS))}") from None


def register_network(name: str, role: str):
    """Function decorator naming a network builder `role` ("generator", "discriminator", "encoder",
    "decoder") under `name`, so algorithms accept e.g. `generator="dcgan"`."""

    def wrap(builder):
        key = (role, name)
        if key in NETWORKS:
            raise ValueError(f"{role} network {name!r} is already registered")
        NETWORKS[key] = builder
        return builder

    return wrap


def get_network(name: str, role: str) -> Callable:
    """The builder registered as `role` network `name`; a ValueError lists the known ones otherwise."""
    try:
        return NETWORKS[(role, name)]
    except KeyError:
        known = sorted(n for r, n in NETWORKS if r == role)
        raise ValueError(f"unknown {role} network {name!r}; registered: {', '.join(known) or 'none'}") from None
