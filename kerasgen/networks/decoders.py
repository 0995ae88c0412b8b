"""Decoders of the VAE family: the generator stacks with a linear output (logits or means)."""

from __future__ import annotations

from kerasgen.networks.dcgan import dcgan_generator
from kerasgen.networks.mlp import mlp_generator
from kerasgen.registry import register_network


@register_network("dcgan", "decoder")
def dcgan_decoder(data_shape, latent_dim, base_filters=32, num_classes=None, name="decoder"):
    """Transposed-conv decoder z (B, latent_dim) [, labels (B,)] -> (B, H, W, C) linear outputs."""
    return dcgan_generator(data_shape, latent_dim, base_filters=base_filters, num_classes=num_classes,
                           output_activation=None, name=name)


@register_network("mlp", "decoder")
def mlp_decoder(data_shape, latent_dim, hidden=(256, 256), num_classes=None, name="decoder"):
    """MLP decoder z (B, latent_dim) [, labels (B,)] -> (B, *data_shape) linear outputs; `hidden`
    lists the widths from the latent side."""
    return mlp_generator(data_shape, latent_dim, hidden=hidden, num_classes=num_classes, output_activation=None,
                         name=name)
