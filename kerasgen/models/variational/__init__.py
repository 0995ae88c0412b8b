"""The VAE family: `VAE` (ELBO / IWAE, CVAE), `HierarchicalVAE`, `FlowPosteriorVAE`, `AAE`, `VQVAE`, presets."""

from kerasgen.models.variational import presets
from kerasgen.models.variational.aae import AAE
from kerasgen.models.variational.flow_posterior import FlowPosteriorVAE
from kerasgen.models.variational.hierarchical import HierarchicalVAE
from kerasgen.models.variational.vae import VAE
from kerasgen.models.variational.vqvae import VQVAE

__all__ = ["AAE", "FlowPosteriorVAE", "HierarchicalVAE", "VAE", "VQVAE", "presets"]
