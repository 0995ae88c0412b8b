"""Adversarial losses as pure functions of discriminator logits.

Every function takes raw discriminator outputs (logits, no sigmoid) of shape
(B,) or (B, 1) and returns a per-example loss of shape (B,) to be minimised.
The caller reduces over the *global* batch (sum / global batch size), which is
what makes the losses correct under `tf.distribute`.

For a discriminator loss, example i pairs real logit i with fake logit i; the
batch mean therefore equals E_real[.] + E_fake[.].

The f-GAN family (Nowozin et al. 2016: "kl", "reverse_kl", "js", "pearson", "squared_hellinger",
"total_variation") registers itself here from `kerasgen.losses.fdivergence`.

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


def minimax_d(real, fake, real_target=1.0):
    """-log D(x) - log(1 - D(G(z))), with D = sigmoid(logit).

    With `real_target` t < 1 (one-sided label smoothing, Salimans et al. 2016) the real term is the
    cross-entropy against t: -t log D(x) - (1 - t) log(1 - D(x)); the fake term is unchanged.
    """
    real = _flat(real)
    real_term = ops.softplus(-real)
    if real_target != 1.0:  # softplus(-l) + (1 - t) l = softplus(l) - t l
        real_term = real_term + (1.0 - real_target) * real
    return real_term + ops.softplus(_flat(fake))


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


def least_squares_d(real, fake, real_target=1.0):
    """1/2 (D(x) - b)^2 + 1/2 D(G(z))^2 (LSGAN with a=0, b = `real_target`, 1 unless smoothed)."""
    return 0.5 * ops.square(_flat(real) - real_target) + 0.5 * ops.square(_flat(fake))


def least_squares_g(fake):
    """1/2 (D(G(z)) - 1)^2 (LSGAN with c=1)."""
    return 0.5 * ops.square(_flat(fake) - 1.0)


@dataclasses.dataclass(frozen=True)
class AdversarialLoss:
    """A pair of discriminator and generator losses (per-example, (B,)).

    Attributes:
        name: the registered name.
        discriminator: (real logits, fake logits) -> (B,); with `targets`, it also takes
            `real_target=` (one-sided label smoothing moves it below 1).
        generator: fake logits -> (B,).
        targets: whether the discriminator loss scores against a real target it can take.
    """

    name: str
    discriminator: Callable
    generator: Callable
    targets: bool = False


LOSSES = {
    "minimax": AdversarialLoss("minimax", minimax_d, minimax_g, targets=True),
    "non_saturating": AdversarialLoss("non_saturating", minimax_d, non_saturating_g, targets=True),
    "wasserstein": AdversarialLoss("wasserstein", wasserstein_d, wasserstein_g),
    "hinge": AdversarialLoss("hinge", hinge_d, wasserstein_g),
    "least_squares": AdversarialLoss("least_squares", least_squares_d, least_squares_g, targets=True),
}


def register(loss: AdversarialLoss) -> AdversarialLoss:
    """Adds `loss` to `LOSSES` under its name (e.g. the f-GAN family of `kerasgen.losses.fdivergence`),
    so `GAN(loss=name)` takes it; a name already taken raises ValueError."""
    if loss.name in LOSSES:
        raise ValueError(f"adversarial loss {loss.name!r} is already registered")
    LOSSES[loss.name] = loss
    return loss


def get(name: str) -> AdversarialLoss:
    """Returns the adversarial loss called `name` (a key of `LOSSES`)."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(
            f"unknown adversarial loss {name!r}; known: {', '.join(LOSSES)}"
        ) from None
