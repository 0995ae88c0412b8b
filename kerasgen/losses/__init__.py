"""Loss functions: adversarial pairs, discriminator penalties, auxiliary-head losses."""

from kerasgen.losses import adversarial, divergences, information, penalties
from kerasgen.losses.adversarial import LOSSES, AdversarialLoss
from kerasgen.losses.penalties import clip_weights, gradient_penalty, r1_penalty

__all__ = [
    "adversarial", "divergences", "information", "penalties", "LOSSES", "AdversarialLoss",
    "clip_weights", "gradient_penalty", "r1_penalty",
]
