"""VAE presets: the `VAE` algorithm with networks sized from `data_shape`.

Images use a Bernoulli decoder (pixels mapped from [-1, 1] to [0, 1]); vectors a
fixed-variance Gaussian decoder on standardised data.
"""

from __future__ import annotations

from kerasgen.models.variational.vae import VAE
from kerasgen.networks import conv_encoder, dcgan_generator, mlp_encoder, mlp_generator
from kerasgen.registry import register_preset


def _build(name, data_shape, latent_dim, conv, hidden=(256, 256), base_filters=32, **vae_kwargs):
    data_shape = tuple(data_shape)
    is_image = len(data_shape) == 3
    if conv and is_image:
        encoder = conv_encoder(data_shape, latent_dim, base_filters=base_filters)
        decoder = dcgan_generator(data_shape, latent_dim, base_filters=base_filters, output_activation=None,
                                  name="decoder")
    else:
        encoder = mlp_encoder(data_shape, latent_dim, hidden=hidden)
        decoder = mlp_generator(data_shape, latent_dim, hidden=tuple(reversed(hidden)), output_activation=None,
                                name="decoder")
    vae_kwargs.setdefault("likelihood", "bernoulli" if is_image else "gaussian")
    return VAE(encoder, decoder, latent_dim=latent_dim, data_shape=data_shape, standardize=not is_image,
               preset=name, **vae_kwargs)


@register_preset("vae", "variational", "MLP VAE, analytic KL, Bernoulli (images) or Gaussian (vectors) decoder")
def vae(data_shape, latent_dim=None, num_classes=None, hidden=(256, 256), base_filters=32, **kw):
    """MLP encoder and decoder; returns an uncompiled `VAE`."""
    return _build("vae", data_shape, latent_dim or 16, conv=False, hidden=hidden, **kw)


@register_preset("conv-vae", "variational", "Convolutional VAE (DCGAN-style encoder and decoder)")
def conv_vae(data_shape, latent_dim=None, num_classes=None, hidden=(256, 256), base_filters=32, **kw):
    """Conv encoder and transposed-conv decoder (MLPs for vectors); returns an uncompiled `VAE`."""
    return _build("conv-vae", data_shape, latent_dim or 16, conv=True, hidden=hidden, base_filters=base_filters, **kw)


@register_preset("beta-vae", "variational", "beta-VAE: beta 4 with a linear KL warm-up over 1,000 steps")
def beta_vae(data_shape, latent_dim=None, num_classes=None, hidden=(256, 256), base_filters=32, **kw):
    """Conv beta-VAE (beta 4, KL warm-up over 1,000 steps); returns an uncompiled `VAE`."""
    kw.setdefault("beta", 4.0)
    kw.setdefault("kl_warmup_steps", 1000)
    return _build("beta-vae", data_shape, latent_dim or 10, conv=True, hidden=hidden, base_filters=base_filters, **kw)
