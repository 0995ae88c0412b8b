"""VAE-family presets: an algorithm with networks sized from `data_shape`.

Images use a Bernoulli decoder (pixels mapped from [-1, 1] to [0, 1]); vectors a
fixed-variance Gaussian decoder on standardised data. Every builder takes the
algorithm's keyword arguments as overrides (e.g. `likelihood="logistic"`).
"""

from __future__ import annotations

from kerasgen.models.flows.autoregressive import AutoregressiveStep
from kerasgen.models.flows.planar import PlanarStep
from kerasgen.models.variational.aae import AAE
from kerasgen.models.variational.flow_posterior import FlowPosteriorVAE
from kerasgen.models.variational.hierarchical import HierarchicalVAE
from kerasgen.models.variational.vae import VAE
from kerasgen.models.variational.vqvae import VQVAE
from kerasgen.networks import (
    conv_encoder,
    dcgan_decoder,
    mlp_decoder,
    mlp_discriminator,
    mlp_encoder,
    vq_decoder,
    vq_encoder,
)
from kerasgen.registry import register_preset

SMALL = dict(base_filters=8, hidden=(32, 32))  # networks small enough for tests


def _encoder_decoder(data_shape, latent_dim, conv, hidden, base_filters, num_classes=None):
    if conv and len(data_shape) == 3:
        encoder = conv_encoder(data_shape, latent_dim, base_filters=base_filters, num_classes=num_classes)
        decoder = dcgan_decoder(data_shape, latent_dim, base_filters=base_filters, num_classes=num_classes)
    else:
        encoder = mlp_encoder(data_shape, latent_dim, hidden=hidden, num_classes=num_classes)
        decoder = mlp_decoder(data_shape, latent_dim, hidden=tuple(reversed(hidden)), num_classes=num_classes)
    return encoder, decoder


def _data_defaults(data_shape, kw):
    """Likelihood and standardisation defaults for images and vectors."""
    is_image = len(data_shape) == 3
    kw.setdefault("likelihood", "bernoulli" if is_image else "gaussian")
    kw.setdefault("standardize", not is_image)
    return kw


def _vae(name, data_shape, latent_dim, conv, hidden, base_filters, num_classes=None, **kw):
    data_shape = tuple(data_shape)
    encoder, decoder = _encoder_decoder(data_shape, latent_dim, conv, hidden, base_filters, num_classes)
    return VAE(encoder, decoder, latent_dim=latent_dim, data_shape=data_shape, num_classes=num_classes,
               preset=name, **_data_defaults(data_shape, kw))


@register_preset("vae", "variational", "MLP VAE, analytic KL, Bernoulli (images) or Gaussian (vectors) decoder",
                 small=SMALL, reference="Kingma & Welling 2014, Auto-Encoding Variational Bayes, arXiv:1312.6114")
def vae(data_shape, latent_dim=None, num_classes=None, hidden=(256, 256), base_filters=32, **kw):
    """MLP encoder and decoder; returns an uncompiled `VAE`."""
    return _vae("vae", data_shape, latent_dim or 16, False, hidden, base_filters, **kw)


@register_preset("conv-vae", "variational", "Convolutional VAE (DCGAN-style encoder and decoder)",
                 small=SMALL, reference="Kingma & Welling 2014, Auto-Encoding Variational Bayes, arXiv:1312.6114")
def conv_vae(data_shape, latent_dim=None, num_classes=None, hidden=(256, 256), base_filters=32, **kw):
    """Conv encoder and transposed-conv decoder (MLPs for vectors); returns an uncompiled `VAE`."""
    return _vae("conv-vae", data_shape, latent_dim or 16, True, hidden, base_filters, **kw)


@register_preset("beta-vae", "variational", "beta-VAE: beta 4 with a linear KL warm-up over 1,000 steps",
                 small=SMALL, reference="Higgins et al. 2017, beta-VAE (ICLR); Bowman et al. 2016 for the KL warm-up, arXiv:1511.06349")
def beta_vae(data_shape, latent_dim=None, num_classes=None, hidden=(256, 256), base_filters=32, **kw):
    """Conv beta-VAE (beta 4, KL warm-up over 1,000 steps); returns an uncompiled `VAE`."""
    kw.setdefault("beta", 4.0)
    kw.setdefault("kl_warmup_steps", 1000)
    return _vae("beta-vae", data_shape, latent_dim or 10, True, hidden, base_filters, **kw)


@register_preset("cvae", "variational", "Conditional VAE: labels to the encoder and the decoder", labels="required",
                 small=SMALL, reference="Sohn et al. 2015, Learning Structured Output Representation using Deep Conditional Generative Models (NeurIPS)")
def cvae(data_shape, latent_dim=None, num_classes=None, hidden=(256, 256), base_filters=32, **kw):
    """MLP CVAE (labels embedded in both networks); returns an uncompiled `VAE` with num_classes."""
    if not num_classes:
        raise ValueError("preset 'cvae' needs num_classes (it is a conditional model)")
    return _vae("cvae", data_shape, latent_dim or 16, False, hidden, base_filters, num_classes=num_classes, **kw)


@register_preset("iwae", "variational", "IWAE: MLP VAE trained on the importance-weighted bound, K=5",
                 small=SMALL, reference="Burda et al. 2016, Importance Weighted Autoencoders, arXiv:1509.00519")
def iwae(data_shape, latent_dim=None, num_classes=None, hidden=(256, 256), base_filters=32, **kw):
    """MLP VAE trained on the K-sample bound (k_samples=5 unless given); returns an uncompiled `VAE`."""
    kw.setdefault("objective", "iwae")
    kw.setdefault("k_samples", 5)
    return _vae("iwae", data_shape, latent_dim or 16, False, hidden, base_filters, **kw)


@register_preset("hvae", "variational", "Two-level hierarchical VAE: p(z2) p(z1|z2) p(x|z1), MLPs",
                 small=SMALL, reference="Sonderby et al. 2016, Ladder Variational Autoencoders, arXiv:1602.02282 (two-level top-down model)")
def hvae(data_shape, latent_dim=None, num_classes=None, hidden=(256, 256), base_filters=32, top_latent_dim=None,
         **kw):
    """MLP `HierarchicalVAE`; latent_dim is z1's size (default 32), z2 half of it unless given."""
    data_shape = tuple(data_shape)
    latent_dim = latent_dim or 32
    top_latent_dim = top_latent_dim or max(latent_dim // 2, 2)
    top_hidden = tuple(max(w // 2, 8) for w in hidden)
    encoder, decoder = _encoder_decoder(data_shape, latent_dim, False, hidden, base_filters)
    top_encoder = mlp_encoder((latent_dim,), top_latent_dim, hidden=top_hidden, name="top_encoder")
    top_prior = mlp_encoder((top_latent_dim,), latent_dim, hidden=top_hidden, name="top_prior")
    return HierarchicalVAE(encoder, decoder, top_encoder, top_prior, latent_dim=latent_dim,
                           top_latent_dim=top_latent_dim, data_shape=data_shape, preset="hvae",
                           **_data_defaults(data_shape, kw))


@register_preset("vq-vae", "variational", "VQ-VAE: 128-code codebook, straight-through, commitment 0.25",
                 small=SMALL, reference="van den Oord et al. 2017, Neural Discrete Representation Learning, arXiv:1711.00937")
def vq_vae(data_shape, latent_dim=None, num_classes=None, hidden=(256, 256), base_filters=32, **kw):
    """Conv (images) or MLP (vectors) `VQVAE`; latent_dim is the code size (default 16); `ema=True`
    learns the codebook by moving averages."""
    data_shape = tuple(data_shape)
    code_dim = latent_dim or 16
    encoder = vq_encoder(data_shape, code_dim, base_filters=base_filters, hidden=hidden)
    latent_shape = tuple(encoder.outputs[0].shape[1:])
    decoder = vq_decoder(data_shape, latent_shape, base_filters=base_filters, hidden=tuple(reversed(hidden)))
    return VQVAE(encoder, decoder, data_shape=data_shape, preset="vq-vae", **_data_defaults(data_shape, kw))


@register_preset("aae", "variational", "Adversarial autoencoder: a latent-space discriminator instead of the KL",
                 small=SMALL, reference="Makhzani et al. 2016, Adversarial Autoencoders, arXiv:1511.05644")
def aae(data_shape, latent_dim=None, num_classes=None, hidden=(256, 256), base_filters=32, **kw):
    """MLP `AAE` with an MLP discriminator on z (non-saturating loss); returns it uncompiled."""
    data_shape = tuple(data_shape)
    latent_dim = latent_dim or 8
    encoder, decoder = _encoder_decoder(data_shape, latent_dim, False, hidden, base_filters)
    discriminator = mlp_discriminator((latent_dim,), hidden=hidden, name="latent_discriminator")
    return AAE(encoder, decoder, discriminator, latent_dim=latent_dim, data_shape=data_shape, preset="aae",
               **_data_defaults(data_shape, kw))


POSTERIORS = ("planar", "iaf")


@register_preset("vae-flow", "variational", "VAE with a flow posterior: 10 amortised planar steps (or IAF)",
                 small=dict(SMALL, num_flow_steps=2), reference="Rezende & Mohamed 2015, Variational Inference with Normalizing Flows, arXiv:1505.05770; Kingma et al. 2016 (IAF), arXiv:1606.04934")
def vae_flow(data_shape, latent_dim=None, num_classes=None, hidden=(256, 256), base_filters=32,
             posterior="planar", num_flow_steps=None, context_dim=32, **kw):
    """MLP `FlowPosteriorVAE`: `posterior="planar"` (10 amortised planar steps, Rezende & Mohamed
    2015) or "iaf" (4 IAF steps on MADEs that see the encoder's context, Kingma et al. 2016)."""
    if posterior not in POSTERIORS:
        raise ValueError(f"unknown posterior flow {posterior!r}; use one of {', '.join(POSTERIORS)}")
    data_shape = tuple(data_shape)
    latent_dim = latent_dim or 16
    encoder = mlp_encoder(data_shape, latent_dim, hidden=hidden, context_dim=context_dim)
    decoder = mlp_decoder(data_shape, latent_dim, hidden=tuple(reversed(hidden)))
    if posterior == "planar":
        steps = [PlanarStep(latent_dim, context_dim=context_dim, name=f"planar_{i}")
                 for i in range(num_flow_steps or 10)]
    else:
        steps = [AutoregressiveStep(latent_dim, hidden=(2 * latent_dim, 2 * latent_dim), reverse=i % 2 == 1,
                                    inverse=True, context_dim=context_dim, name=f"iaf_{i}")
                 for i in range(num_flow_steps or 4)]
    kw.setdefault("kl", "monte_carlo")
    return FlowPosteriorVAE(encoder, decoder, steps, latent_dim=latent_dim, data_shape=data_shape, preset="vae-flow",
                            **_data_defaults(data_shape, kw))
