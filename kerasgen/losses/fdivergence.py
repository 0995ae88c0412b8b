"""The f-GAN family (Nowozin et al. 2016): adversarial losses from the variational bound of an
f-divergence.

For a convex f with f(1) = 0, D_f(P || Q) = E_Q[f(p/q)] >= sup_T E_P[T(x)] - E_Q[f*(T(x))], where f*
is the convex conjugate; the bound is tight at T*(x) = f'(p(x)/q(x)). The discriminator outputs an
unconstrained logit v and T = g_f(v), an output activation mapping onto the domain of f*.

Per-example losses (B,), to be reduced over the global batch like every adversarial loss
(`kerasgen.losses.adversarial`): the discriminator minimises -g_f(v_real) + f*(g_f(v_fake)) (the
negative bound: its batch mean tends to -D_f(P || Q) at the optimal critic); the generator minimises
-g_f(v_fake), the paper's practical (non-saturating) form of its objective (section 3.2).

Registered in `kerasgen.losses.adversarial.LOSSES`, so `GAN(loss="kl")` works:

| name              | f(u)                              | g_f(v)              | f*(t)           |
|-------------------|-----------------------------------|---------------------|-----------------|
| kl                | u log u                           | v                   | exp(t - 1)      |
| reverse_kl        | -log u                            | -exp(-v)            | -1 - log(-t)    |
| js                | u log u - (1 + u) log((1 + u)/2)  | log 2 - log(1+e^-v) | -log(2 - e^t)   |
| pearson           | (u - 1)^2                         | v                   | t^2/4 + t       |
| squared_hellinger | (sqrt(u) - 1)^2                   | 1 - exp(-v)         | t / (1 - t)     |
| total_variation   | 1/2 |u - 1|                       | 1/2 tanh(v)         | t (|t| <= 1/2)  |

The "js" generator gives D_f = KL(P || M) + KL(Q || M) = 2 JS(P, Q) with M = (P + Q)/2 (the
paper's Table 1 writes JS with this f but a factor 1/2 in front; its Table 6 activation and
conjugate, used here, belong to this f). "total_variation" is 1/2 integral |p - q|.

References:
    Nowozin, Cseke & Tomioka 2016, f-GAN: Training Generative Neural Samplers using Variational
    Divergence Minimization, arXiv:1606.00709 (Tables 1, 2 and 6).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

from keras import ops

from kerasgen.losses import adversarial

LOG2 = math.log(2.0)


@dataclasses.dataclass(frozen=True)
class FDivergence:
    """One f-divergence: its generator, the optimal critic, the output activation and the conjugate.

    Every function takes and returns float32 tensors (or arrays) elementwise.

    Attributes:
        name: the loss name (`GAN(loss=name)`).
        f: the convex generator f(u), u = p/q > 0, with f(1) = 0.
        f_prime: f'(u): the optimal critic is T*(x) = f'(p(x)/q(x)).
        activation: g_f(v): logits onto the domain of f*.
        conjugate: f*(t) on that domain.
        conjugate_of_logit: f*(g_f(v)) in a numerically stable form.
    """

    name: str
    f: Callable
    f_prime: Callable
    activation: Callable
    conjugate: Callable
    conjugate_of_logit: Callable

    def discriminator_loss(self, real, fake):
        """-g_f(v_real) + f*(g_f(v_fake)) per example (B,): minus the variational bound."""
        return -self.activation(_flat(real)) + self.conjugate_of_logit(_flat(fake))

    def generator_loss(self, fake):
        """-g_f(v_fake) per example (B,)."""
        return -self.activation(_flat(fake))


def _flat(logits):
    logits = ops.cast(logits, "float32")
    return ops.reshape(logits, (ops.shape(logits)[0],))


def _f(x):
    return ops.cast(x, "float32")


F_DIVERGENCES = {d.name: d for d in (
    FDivergence(
        "kl", f=lambda u: _f(u) * ops.log(_f(u)), f_prime=lambda u: 1.0 + ops.log(_f(u)),
        activation=lambda v: _f(v), conjugate=lambda t: ops.exp(_f(t) - 1.0),
        conjugate_of_logit=lambda v: ops.exp(_f(v) - 1.0)),
    FDivergence(
        "reverse_kl", f=lambda u: -ops.log(_f(u)), f_prime=lambda u: -1.0 / _f(u),
        activation=lambda v: -ops.exp(-_f(v)), conjugate=lambda t: -1.0 - ops.log(-_f(t)),
        conjugate_of_logit=lambda v: _f(v) - 1.0),
    FDivergence(
        "js", f=lambda u: _f(u) * ops.log(_f(u)) - (1.0 + _f(u)) * ops.log((1.0 + _f(u)) / 2.0),
        f_prime=lambda u: ops.log(2.0 * _f(u) / (1.0 + _f(u))),
        activation=lambda v: LOG2 - ops.softplus(-_f(v)), conjugate=lambda t: -ops.log(2.0 - ops.exp(_f(t))),
        conjugate_of_logit=lambda v: ops.softplus(_f(v)) - LOG2),
    FDivergence(
        "pearson", f=lambda u: ops.square(_f(u) - 1.0), f_prime=lambda u: 2.0 * (_f(u) - 1.0),
        activation=lambda v: _f(v), conjugate=lambda t: 0.25 * ops.square(_f(t)) + _f(t),
        conjugate_of_logit=lambda v: 0.25 * ops.square(_f(v)) + _f(v)),
    FDivergence(
        "squared_hellinger", f=lambda u: ops.square(ops.sqrt(_f(u)) - 1.0), f_prime=lambda u: 1.0 - ops.rsqrt(_f(u)),
        activation=lambda v: 1.0 - ops.exp(-_f(v)), conjugate=lambda t: _f(t) / (1.0 - _f(t)),
        conjugate_of_logit=lambda v: ops.exp(_f(v)) - 1.0),
    FDivergence(
        "total_variation", f=lambda u: 0.5 * ops.abs(_f(u) - 1.0), f_prime=lambda u: 0.5 * ops.sign(_f(u) - 1.0),
        activation=lambda v: 0.5 * ops.tanh(_f(v)), conjugate=lambda t: _f(t),
        conjugate_of_logit=lambda v: 0.5 * ops.tanh(_f(v))),
)}


def get(name: str) -> FDivergence:
    """The f-divergence called `name` (a key of `F_DIVERGENCES`)."""
    try:
        return F_DIVERGENCES[name]
    except KeyError:
        raise ValueError(f"unknown f-divergence {name!r}; known: {', '.join(F_DIVERGENCES)}") from None


for _divergence in F_DIVERGENCES.values():
    adversarial.register(adversarial.AdversarialLoss(
        _divergence.name, _divergence.discriminator_loss, _divergence.generator_loss))
