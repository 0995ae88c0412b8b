"""Players: the networks of a model that each have their own optimiser.

A model declares its players once (`GenerativeModel.players`); from that one declaration come
`compile(**optimisers)`, the compile config saved in `.keras` files and so the exact resume of
every optimiser's state. A GAN has a generator and a discriminator player, an AAE an autoencoder
and a latent discriminator, a VAE or a flow a single player named "optimizer".
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import keras

from kerasgen.models.optimizers import resolve_optimizer, set_compile_defaults, uses_float16

KERAS_OPTIMIZER = "optimizer"  # the player whose optimiser is Keras' own `model.optimizer`


@dataclasses.dataclass(frozen=True)
class Player:
    """One group of variables trained by its own optimiser.

    Attributes:
        optimizer: the `compile` keyword and the model attribute holding its optimiser
            ("optimizer" for Keras' own, else e.g. "g_optimizer").
        variables: returns the trainable variables this optimiser updates.
        default: the serialised optimiser that `compile()` uses for "auto".
        role: what the player is, for messages and docs ("generator", "discriminator", ...).
    """

    optimizer: str
    variables: Callable[[], list]
    default: dict
    role: str = ""


def compile_players(model, players, optimizers: dict, kwargs: dict, skip_nonfinite: bool = False) -> None:
    """Resolves, assigns and builds each player's optimiser, then Keras' compile.

    Args:
        model: the `keras.Model` being compiled.
        players: its `Player`s.
        optimizers: {player keyword: "auto", a name, config or instance}; missing ones are "auto".
        kwargs: the remaining `keras.Model.compile` keywords (kerasgen defaults filled in).
        skip_nonfinite: wrap each optimiser in `SkipNonFinite` (a step with NaN or infinite
            gradients changes nothing and is counted).

    Raises:
        ValueError: an optimiser keyword that names no player.
    """
    names = [p.optimizer for p in players]
    unknown = sorted(set(optimizers) - set(names))
    if unknown:
        raise ValueError(f"{type(model).__name__} has no player {', '.join(unknown)}; its optimisers are "
                         f"{', '.join(names)}")
    float16 = uses_float16(model)
    resolved = {p.optimizer: resolve_optimizer(optimizers.get(p.optimizer, "auto"), p.default, float16, skip_nonfinite)
                for p in players}
    keras.Model.compile(model, optimizer=resolved.get(KERAS_OPTIMIZER), **set_compile_defaults(kwargs))
    for player in players:
        if player.optimizer != KERAS_OPTIMIZER:
            setattr(model, player.optimizer, resolved[player.optimizer])
        resolved[player.optimizer].build(player.variables())


def compiled_optimizers(model, players) -> dict | None:
    """{player keyword: optimiser} once compiled, else None."""
    out = {p.optimizer: getattr(model, p.optimizer, None) for p in players}
    return None if any(opt is None for opt in out.values()) else out


def split_optimizer_kwargs(players, kwargs: dict) -> dict:
    """Pops the players' optimiser keywords (and any other `*optimizer` keyword, to be refused by
    `compile_players`) out of `kwargs`."""
    names = {p.optimizer for p in players}
    return {k: kwargs.pop(k) for k in list(kwargs) if k in names or k.endswith("optimizer")}
