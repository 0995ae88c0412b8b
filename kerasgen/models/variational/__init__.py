"""The VAE family: one algorithm (`VAE`) and its presets."""

from kerasgen.models.variational import presets
from kerasgen.models.variational.vae import VAE

__all__ = ["VAE", "presets"]
