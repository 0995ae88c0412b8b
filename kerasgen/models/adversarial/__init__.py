"""The GAN family: one algorithm (`GAN`) and its presets; `BEGAN` and `VEEGAN`, whose objectives differ."""

from kerasgen.models.adversarial import objective_presets, presets
from kerasgen.models.adversarial.began import BEGAN
from kerasgen.models.adversarial.gan import GAN
from kerasgen.models.adversarial.veegan import VEEGAN

__all__ = ["BEGAN", "GAN", "VEEGAN", "objective_presets", "presets"]
