"""Networks: plain Keras models built from `data_shape`, separate from the algorithms.

Contract every algorithm relies on (user networks included):
- generator: z (B, latent_dim) float32, or [z, labels int32 (B,)] when
  conditional -> samples (B, *data_shape).
- discriminator: x (B, *data_shape), or [x, labels] when it takes labels ->
  logits (B, 1), or a dict with "logit" plus auxiliary heads
  ("class_logits", "code_logits", "code_mean").
- encoder (VAE family): x [, labels] -> {"mean", "log_var"} (B, latent_dim) each.
- decoder (VAE family): z [, labels] -> (B, *data_shape) linear outputs.
- joint discriminator (BiGAN / ALI, VEEGAN): [x, z] -> logit (B, 1); BiGAN encoders x -> z (B, latent_dim).
- classifier (semi-supervised GAN): x -> {"class_logits": (B, K [+ 1]), "features": (B, F)}.
- autoencoder (BEGAN's discriminator): x (B, *data_shape) -> reconstruction (B, *data_shape) float32.
- reconstructor (VEEGAN): x (B, *data_shape) -> z (B, latent_dim) float32.
- translation generator ("unet", "resnet", "local", "srresnet"): built from (source_shape, target_shape);
  source (B, *source_shape) -> images (B, *target_shape) float32 in [-1, 1].
- translation discriminator ("patchgan"): built from (target_shape, source_shape=None); image, or
  [source, image] when conditional -> logits (B, h, w, 1), one per patch.

Builders are registered by role and name (`kerasgen.registry.register_network`), so algorithms
take `generator="dcgan"`, `encoder="mlp"`, ... : see `NAMES`.
"""

from kerasgen.networks.autoencoder import began_generator, conv_autoencoder, mlp_autoencoder
from kerasgen.networks.classifier import conv_classifier, mlp_classifier
from kerasgen.networks.dcgan import dcgan_discriminator, dcgan_generator, num_stages
from kerasgen.networks.decoders import dcgan_decoder, mlp_decoder
from kerasgen.networks.encoders import conv_encoder, gaussian_heads, mlp_encoder
from kerasgen.networks.joint import (
    conv_joint_discriminator,
    conv_latent_encoder,
    mlp_joint_discriminator,
    mlp_latent_encoder,
)
from kerasgen.networks.mlp import mlp_discriminator, mlp_generator
from kerasgen.networks.reconstructor import conv_reconstructor, mlp_reconstructor
from kerasgen.networks.translation import (
    local_translator,
    patchgan,
    patchgan_layers,
    patchgan_receptive_field,
    resnet_generator,
    srresnet,
    translation_scale,
    unet,
    unet_depth,
)
from kerasgen.networks.vq import vq_decoder, vq_encoder

__all__ = ["dcgan_discriminator", "dcgan_generator", "num_stages", "mlp_discriminator", "mlp_generator",
           "conv_encoder", "mlp_encoder", "gaussian_heads",
           "dcgan_decoder", "mlp_decoder", "vq_encoder", "vq_decoder",
           "unet", "resnet_generator", "local_translator", "srresnet", "patchgan", "patchgan_receptive_field", "patchgan_layers",
           "unet_depth", "translation_scale", "mlp_latent_encoder", "conv_latent_encoder",
           "mlp_joint_discriminator", "conv_joint_discriminator", "mlp_classifier", "conv_classifier",
           "began_generator", "conv_autoencoder", "mlp_autoencoder", "conv_reconstructor", "mlp_reconstructor", "names"]


def names() -> dict:
    """{role: [registered network names]}, e.g. {"generator": ["dcgan", "mlp"], ...}."""
    from kerasgen.registry import NETWORKS

    out: dict = {}
    for role, name in sorted(NETWORKS):
        out.setdefault(role, []).append(name)
    return out
