"""The GAN family: one algorithm (`GAN`), its presets and the presets of its remedies (`remedies`)."""

from kerasgen.models.adversarial import presets, remedies
from kerasgen.models.adversarial.gan import GAN

__all__ = ["GAN", "presets", "remedies"]
