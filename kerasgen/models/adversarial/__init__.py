"""The GAN family: one algorithm (`GAN`), its presets and the presets of its remedies against mode
collapse (`remedies`); `BEGAN` and `VEEGAN`, whose objectives differ; GANs that infer (`BiGAN`) or
classify (`SemiSupervisedGAN`); and their presets."""

from kerasgen.models.adversarial import inference_presets, objective_presets, presets, remedies
from kerasgen.models.adversarial.began import BEGAN
from kerasgen.models.adversarial.bigan import BiGAN
from kerasgen.models.adversarial.gan import GAN
from kerasgen.models.adversarial.ssgan import SemiSupervisedGAN
from kerasgen.models.adversarial.veegan import VEEGAN

__all__ = ["BEGAN", "BiGAN", "GAN", "SemiSupervisedGAN", "VEEGAN", "inference_presets", "objective_presets", "presets",
           "remedies"]
