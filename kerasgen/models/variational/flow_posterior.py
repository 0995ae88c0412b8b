"""`FlowPosteriorVAE`: a VAE whose posterior is a diagonal Gaussian pushed through flow steps.

z0 ~ N(mean(x), diag(exp(log_var(x)))), z = f_K(... f_1(z0)), and
log q(z | x) = log q0(z0 | x) - sum_k log |det df_k/dz_{k-1}|, so the KL term is the
Monte Carlo estimate log q(z|x) - log p(z) (no closed form exists). Steps with a
`context_dim` take the encoder's "context" output: amortised planar steps (each
example gets its own flow, Rezende & Mohamed 2015) or IAF steps on a MADE that sees
the context (Kingma et al. 2016). Training, bounds, metrics and evaluation are the VAE's.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from kerasgen.losses import divergences
from kerasgen.models.flows.flow import deserialize_steps
from kerasgen.models.variational.vae import VAE, per_sample, posterior_outputs, reparameterise, tile_samples
from kerasgen.registry import register_algorithm

tfb = tfp.bijectors


@register_algorithm
class FlowPosteriorVAE(VAE):
    """VAE with a normalising-flow posterior.

    Args:
        encoder: x -> {"mean", "log_var"} (B, latent_dim) [and "context" (B, C) for steps
            with context_dim C].
        decoder: as for `VAE`.
        posterior_steps: `FlowStep` layers on latent_dim, applied in order to z0.
        latent_dim: size of z.
        **kwargs: as for `VAE` (the KL is always the Monte Carlo estimate).
    """

    def __init__(self, encoder, decoder, posterior_steps, latent_dim, **kwargs):
        super().__init__(encoder, decoder, latent_dim, **kwargs)
        self.posterior_steps = deserialize_steps(posterior_steps)
        for step in self.posterior_steps:
            if step.event_dim != self.latent_dim:
                raise ValueError(f"posterior step {step.name} works on {step.event_dim} dimensions, "
                                 f"latent_dim is {self.latent_dim}")

    def _posterior_flow(self, context):
        return tfb.Chain([step.bijector(context if step.context_dim else None, seed=None)
                          for step in reversed(self.posterior_steps)])

    def _encoder_outputs(self, x_model, labels, training):
        out = self.encoder(self._with_labels(x_model, labels), training=training)
        mean, log_var = posterior_outputs(out)
        context = tf.cast(out["context"], tf.float32) if isinstance(out, dict) and "context" in out else None
        if context is None and any(step.context_dim for step in self.posterior_steps):
            raise ValueError("posterior steps with a context_dim need an encoder with a 'context' output")
        return mean, log_var, context

    def _latent(self, x_model, labels, seed, k, training):
        mean, log_var, context = self._encoder_outputs(x_model, labels, training)
        z0 = reparameterise(mean, log_var, seed, k)
        flow = self._posterior_flow(None if context is None else tile_samples(context, k))
        z = flow.forward(z0)
        log_q = (divergences.gaussian_log_density(z0, tile_samples(mean, k), tile_samples(log_var, k))
                 - flow.forward_log_det_jacobian(z0, event_ndims=1))
        kl = per_sample(log_q - divergences.gaussian_log_density(z, 0.0, 0.0), k)
        return z, kl, kl

    def reconstruct(self, x, labels=None):
        """Decodes the flow applied to the base posterior mean of x, in data space."""
        x = self.check_data(np.asarray(x, np.float32))
        labels = self.sample_labels(len(x), labels, required=True)
        mean, _, context = self._encoder_outputs(self.to_model_space(x), labels, False)
        return self.decode(self._posterior_flow(context).forward(mean).numpy(), labels)

    def get_config(self):
        return {**super().get_config(),
                "posterior_steps": [keras.saving.serialize_keras_object(s) for s in self.posterior_steps]}
