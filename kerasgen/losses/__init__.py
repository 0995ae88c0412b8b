"""Loss functions: adversarial pairs (with the f-GAN family), discriminator penalties, auxiliary-head losses."""

from kerasgen.losses import adversarial, divergences, fdivergence, information, penalties
from kerasgen.losses.adversarial import LOSSES, AdversarialLoss
from kerasgen.losses.fdivergence import F_DIVERGENCES, FDivergence
from kerasgen.losses.penalties import clip_weights, gradient_penalty, r1_penalty

__all__ = [
    "adversarial", "divergences", "fdivergence", "information", "penalties", "LOSSES", "AdversarialLoss",
    "F_DIVERGENCES", "FDivergence",
    "clip_weights", "gradient_penalty", "r1_penalty",
]
