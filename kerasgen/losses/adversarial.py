"""Adversarial losses as pure functions of discriminator logits.

Every function takes raw discriminator outputs (logits, no sigmoid) of shape
(B,) or (B, 1) and returns a per-example loss of shape (B,) to be minimised.
The caller reduces over the *global* batch (sum / global batch size), which is
what makes the losses correct under `tf.distribute`.

For a discriminator loss, example i pairs real logit i with fake logit i; the
batch mean therefore equals E_real[.] + E_fake[.].

References:
    Goodfellow et al. 2014 (minimax, non-saturating); Arjovsky et al. 2017
    (Wasserstein); Lim & Ye 2017, Miyato et al. 2018 (hinge); Mao et al. 2017
    (least squares, with the 0-1 coding a=0, b=1, c=1).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from keras import ops


def _flat(logits):
    logits = ops.cast(logits, "float32")
    return ops.reshape(logits, (ops.shape(logits)[0],))


def minimax_d(real, fake):
    """-log D(x) - log(1 - D(G(z))), with D = sigmoid(logit)."""
    return ops.softplus(-_flat(real)) + ops.softplus(_flat(fake))


def minimax_g(fake):
    """log(1 - D(G(z))): the generator side of the original minimax game."""
    return -ops.softplus(_flat(fake))


def non_saturating_g(fake):
    """-log D(G(z)): the non-saturating generator loss."""
    return ops.softplus(-_flat(fake))


def wasserstein_d(real, fake):
    """Critic loss f(G(z)) - f(x) (the critic maximises the Wasserstein estimate)."""
    return _flat(fake) - _flat(real)


def wasserstein_g(fake):
    """-f(G(z))."""
    return -_flat(fake)


def hinge_d(real, fake):
    """max(0, 1 - D(x)) + max(0, 1 + D(G(z)))."""
    return ops.relu(1.0 - _flat(real)) + ops.relu(1.0 + _flat(fake))


def least_squares_d(real, fake):
    """1/2 (D(x) - 1)^2 + 1/2 D(G(z))^2 (LSGAN with a=0, b=1)."""
    return 0.5 * ops.square(_flat(real) - 1.0) + 0.5 * ops.square(_flat(fake))


def least_squares_g(fake):
    """1/2 (D(G(z)) - 1)^2 (LSGAN with c=1)."""
    return 0.5 * ops.square(_flat(fake) - 1.0)


@dataclasses.dataclass(frozen=True)
class AdversarialLoss:
    """A pair of discriminator and generator losses (per-example, (B,))."""

    name: str
    discriminator: Callable
    generator: Callable


LOSSES = {
    "minimax": AdversarialLoss("minimax", minimax_d, minimax_g),
    "non_saturating": AdversarialLoss("non_saturating", minimax_d, non_saturating_g),
    "wasserstein": AdversarialLoss("wasserstein", wasserstein_d, wasserstein_g),
    "hinge": AdversarialLoss("hinge", hinge_d, wasserstein_g),
    "least_squares": AdversarialLoss("least_squares", least_squares_d, least_squares_g),
}


def get(name: str) -> AdversarialLoss:
    """Returns the adversarial loss called `name` (a key of `LOSSES`)."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(
            f"unknown adversarial loss {name!r}; known: {', '.join(LOSSES)}"
        ) from None
