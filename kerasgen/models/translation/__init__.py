"""Image-to-image translation: paired (`Translation`: pix2pix, SRGAN, SRResNet, inpainting) and
unpaired (`CycleGAN`)."""

from kerasgen.models.translation.cycle import CycleGAN, HistoryPool
from kerasgen.models.translation.paired import Translation
from kerasgen.models.translation import presets  # noqa: F401 - registers the presets

__all__ = ["CycleGAN", "HistoryPool", "Translation"]
