"""Networks: plain Keras models built from `data_shape`, separate from the algorithms.

Contract every algorithm relies on (user networks included):
- generator: z (B, latent_dim) float32, or [z, labels int32 (B,)] when
  conditional -> samples (B, *data_shape).
- discriminator: x (B, *data_shape), or [x, labels] when it takes labels ->
  logits (B, 1), or a dict with "logit" plus auxiliary heads
  ("class_logits", "code_logits", "code_mean").
"""

from kerasgen.networks.dcgan import dcgan_discriminator, dcgan_generator, num_stages
from kerasgen.networks.encoders import conv_encoder, mlp_encoder
from kerasgen.networks.mlp import mlp_discriminator, mlp_generator

__all__ = ["dcgan_discriminator", "dcgan_generator", "num_stages", "mlp_discriminator", "mlp_generator",
           "conv_encoder", "mlp_encoder"]
