"""The GAN family: one algorithm (`GAN`) and its presets."""

from kerasgen.models.adversarial import presets
from kerasgen.models.adversarial.gan import GAN

__all__ = ["GAN", "presets"]
