"""The GAN family: one algorithm (`GAN`) and its presets; GANs that infer (`BiGAN`) or classify
(`SemiSupervisedGAN`) and theirs."""

from kerasgen.models.adversarial import inference_presets, presets
from kerasgen.models.adversarial.bigan import BiGAN
from kerasgen.models.adversarial.gan import GAN
from kerasgen.models.adversarial.ssgan import SemiSupervisedGAN

__all__ = ["GAN", "BiGAN", "SemiSupervisedGAN", "presets", "inference_presets"]
