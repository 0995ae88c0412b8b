"""`VAE`: one variational train_step for the ELBO and the importance-weighted bound.

encode -> reparameterise (K samples) -> decode. The decoder likelihood is a
`DecoderLikelihood` ("bernoulli", "gaussian" with a fixed or learned scale,
"logistic" discretised for 8-bit images); the KL to the prior is analytic or a
Monte Carlo estimate; beta follows a schedule (constant, linear warm-up, or
cyclical) driven by the optimiser's step counter, so it survives save/resume.
With `num_classes` the encoder and decoder also take labels (CVAE); with
`objective="iwae"` the step maximises the K-sample importance-weighted bound.
Subclasses change the latent part only (`_latent`, `_latents_from_noise`): the
hierarchical VAE adds a second stochastic layer; the adversarial autoencoder
replaces the KL with a latent-space discriminator.

References:
    Kingma & Welling 2014; Sohn et al. 2015 (CVAE); Burda et al. 2016 (IWAE);
    Higgins et al. 2017 (beta-VAE); Bowman et al. 2016 (KL warm-up);
    Fu et al. 2019 (cyclical annealing); Salimans et al. 2017 (discretised logistic).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasgen import noise as noise_lib
from kerasgen.layers.likelihood import DecoderLikelihood
from kerasgen.losses import divergences
from kerasgen.models.base import GenerativeModel
from kerasgen.models.network_args import data_shape_of, network_attr, resolve_network
from kerasgen.models.optimizers import adam
from kerasgen.registry import register_algorithm

OBJECTIVES = ("elbo", "iwae")
KL_ESTIMATORS = ("analytic", "monte_carlo")


def tile_samples(t, k):
    """(B, ...) -> (k * B, ...): the batch repeated k times, sample-major."""
    t = tf.convert_to_tensor(t)
    reps = tf.concat([[k], tf.ones([tf.rank(t) - 1], tf.int32)], axis=0)
    return tf.tile(t, reps)


def posterior_outputs(out):
    """(mean, log_var) float32 from an encoder's dict {"mean", "log_var"} or pair."""
    mean, log_var = (out["mean"], out["log_var"]) if isinstance(out, dict) else (out[0], out[1])
    return tf.cast(mean, tf.float32), tf.cast(log_var, tf.float32)


def reparameterise(mean, log_var, seed, k):
    """k samples z = mean + exp(log_var / 2) * eps, eps ~ N(0, I), flattened to (k * B, d)."""
    eps = tf.random.stateless_normal(tf.concat([[k], tf.shape(mean)], 0), seed=seed)
    z = mean[None] + tf.exp(0.5 * log_var)[None] * eps
    return tf.reshape(z, (-1, tf.shape(mean)[-1]))


def per_sample(values, k):
    """(k * B,) -> (k, B)."""
    return tf.reshape(values, (k, -1))


# the exported `log_likelihood` signature: importance samples per example and their fixed stateless seed
EXPORT_IMPORTANCE_SAMPLES = 64
EXPORT_LIKELIHOOD_SEED = (20261202, 0)


@register_algorithm
class VAE(GenerativeModel):
    """Variational autoencoder with a diagonal Gaussian posterior.

    Args:
        encoder: Keras model x (B, *data_shape) [, labels (B,)] -> {"mean", "log_var"}
            (B, latent_dim) each, or a pair [mean, log_var]; or a registered encoder name
            ("mlp", "conv"), a builder or a serialised model.
        decoder: Keras model z (B, latent_dim) [, labels (B,)] -> (B, *data_shape): logits
            for "bernoulli", the mean / location otherwise; or a registered decoder name
            ("mlp", "dcgan"), a builder or a serialised model (a name needs `data_shape`).
        latent_dim: size of z.
        data_shape: shape of one example (read from the decoder when None).
        likelihood: "bernoulli", "gaussian" or "logistic" (see `DecoderLikelihood`).
        decoder_scale: the likelihood's scale: a float (fixed), "learned", or None for
            the kind's default (gaussian 1.0 fixed, logistic learned).
        beta: weight of the KL term (1 is the ELBO; > 1 is a beta-VAE).
        kl_warmup_steps: beta rises linearly from 0 over this many steps (0: constant).
        kl_cycle_steps: when > 0, the warm-up restarts every this many steps (cyclical
            annealing); the warm-up then defaults to half a cycle.
        kl: "analytic" (closed form) or "monte_carlo" (log q(z|x) - log p(z) at the samples).
        objective: "elbo", or "iwae" (the importance-weighted bound with `k_samples`).
        k_samples: posterior samples per example and step (averaged for the ELBO).
        num_classes: when set, the encoder and decoder also take int labels (CVAE).
        standardize: learn feature-wise standardisation of vector data.
        optimizer_config: serialised optimiser `compile()` uses by default (Adam 1e-3).
        preset, seed: as in every kerasgen model.
    """

    tracker_names = ("objective", "neg_elbo", "reconstruction", "kl", "beta")
    likelihood_kind = "bound"
    has_encoder = True

    def __init__(self, encoder, decoder, latent_dim, data_shape=None, likelihood="bernoulli", decoder_scale=None,
                 beta=1.0, kl_warmup_steps=0, kl_cycle_steps=0, kl="analytic", objective="elbo", k_samples=1,
                 num_classes=None, standardize=False, optimizer_config=None, preset=None, seed=None, **kwargs):
        context = dict(latent_dim=int(latent_dim), num_classes=num_classes)
        decoder = resolve_network(decoder, "decoder", data_shape=data_shape, **context)
        if data_shape is None:
            data_shape = data_shape_of(decoder, "decoder")
        encoder = resolve_network(encoder, "encoder", data_shape=data_shape, **context)
        super().__init__(data_shape=data_shape, standardize=standardize, preset=preset, seed=seed, **kwargs)
        if objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {objective!r}; use one of {', '.join(OBJECTIVES)}")
        if kl not in KL_ESTIMATORS:
            raise ValueError(f"unknown kl estimator {kl!r}; use one of {', '.join(KL_ESTIMATORS)}")
        if beta < 0 or kl_warmup_steps < 0 or kl_cycle_steps < 0 or int(k_samples) < 1:
            raise ValueError("beta, kl_warmup_steps and kl_cycle_steps must be >= 0 and k_samples >= 1")
        if kl_cycle_steps and kl_warmup_steps > kl_cycle_steps:
            raise ValueError("kl_warmup_steps must not exceed kl_cycle_steps")
        if likelihood == "bernoulli" and standardize:
            raise ValueError("the bernoulli likelihood needs data in [-1, 1], not standardised vectors")
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim = int(latent_dim)
        self.likelihood = likelihood
        self.observation = DecoderLikelihood(likelihood, self.data_shape, decoder_scale, name="likelihood")
        self.decoder_scale = self.observation.scale
        self.beta = float(beta)
        self.kl_cycle_steps = int(kl_cycle_steps)
        self.kl_warmup_steps = int(kl_warmup_steps) or self.kl_cycle_steps // 2
        self.kl = kl
        self.objective = objective
        self.k_samples = int(k_samples)
        self.num_classes = None if num_classes is None else int(num_classes)
        self.optimizer_config = optimizer_config or adam(1e-3, 0.9, 0.999)
        names = self.tracker_names + (("neg_iwae",) if objective == "iwae" else ())
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self._check_networks()
        self._eval_fn = None
        self.built = True

    def _check_networks(self):
        want = 2 if self.num_classes else 1
        for role, net in (("encoder", self.encoder), ("decoder", self.decoder)):
            inputs = network_attr(net, "inputs")
            if inputs is not None and len(inputs) != want:
                first = "x" if role == "encoder" else "z"
                expected = f"[{first}, labels]" if self.num_classes else first
                raise ValueError(f"{role} must take {expected} ({want} input(s)) with num_classes="
                                 f"{self.num_classes}, it takes {len(inputs)}")

    # ---- networks -------------------------------------------------------------------
    def _with_labels(self, t, labels):
        if not self.num_classes:
            return t
        t = tf.convert_to_tensor(t)  # float32, or the compute dtype the model's call autocast it to
        return [t if t.dtype.is_floating else tf.cast(t, tf.float32), tf.convert_to_tensor(labels, tf.int32)]

    def _posterior(self, x_model, labels, training):
        return posterior_outputs(self.encoder(self._with_labels(x_model, labels), training=training))

    def _decode(self, z, labels, training):
        return self.decoder(self._with_labels(z, labels), training=training)

    def _latent(self, x_model, labels, seed, k, training):
        """Posterior samples and their KL terms.

        Returns:
            z (k * B, latent_dim) for the decoder; the Monte Carlo KL log q(z|x) - log p(z)
            (k, B); and the analytic KL, (1, B) (or (k, B) where part of it needs samples).
        """
        mean, log_var = self._posterior(x_model, labels, training)
        z = reparameterise(mean, log_var, seed, k)
        log_q = divergences.gaussian_log_density(z, tile_samples(mean, k), tile_samples(log_var, k))
        log_p = divergences.gaussian_log_density(z, 0.0, 0.0)
        return z, per_sample(log_q - log_p, k), divergences.gaussian_kl(mean, log_var)[None]

    def _terms(self, x_model, labels, seed, k, training):
        """Reconstruction NLL, Monte Carlo KL and analytic KL per sample, each (k, B), nats."""
        z, kl_mc, kl_analytic = self._latent(x_model, labels, seed, k, training)
        labels_k = None if labels is None else tile_samples(labels, k)
        decoded = self._decode(z, labels_k, training)
        recon = per_sample(self.observation.nll(tile_samples(x_model, k), decoded), k)
        return recon, kl_mc, kl_analytic + tf.zeros_like(kl_mc)

    def current_beta(self, step):
        """beta at optimiser step `step`: linear warm-up from 0 (restarting each cycle), then `beta`."""
        if self.kl_warmup_steps == 0:
            return tf.constant(self.beta, tf.float32)
        step = tf.cast(step, tf.float32)
        if self.kl_cycle_steps:
            step = tf.math.floormod(step, float(self.kl_cycle_steps))
        return self.beta * tf.minimum(step / float(self.kl_warmup_steps), 1.0)

    def _objective(self, recon, kl_mc, kl_analytic, beta):
        """Per-example loss (B,) and the terms the trackers report ("objective" is the loss itself:
        reconstruction + beta KL, or the negative K-sample bound)."""
        kl = kl_analytic if self.kl == "analytic" else kl_mc
        terms = {"neg_elbo": tf.reduce_mean(recon + kl, 0), "reconstruction": tf.reduce_mean(recon, 0),
                 "kl": tf.reduce_mean(kl, 0)}
        if self.objective == "elbo":
            loss = tf.reduce_mean(recon + beta * kl, 0)
        else:
            log_w = -(recon + beta * kl_mc)
            loss = terms["neg_iwae"] = -(tf.reduce_logsumexp(log_w, 0) - math.log(self.k_samples))
        return loss, {**terms, "objective": loss}

    # ---- training ------------------------------------------------------------------
    def train_step(self, data):
        x_model, labels = self.unpack_batch(data)
        (seed,) = self.step_seeds(1)
        beta = self.current_beta(self.optimizer.iterations)
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            per_example, terms = self._objective(*self._terms(x_model, labels, seed, self.k_samples, True), beta)
            loss = self.global_mean(per_example)
            scaled = self.optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, variables)
        self.optimizer.apply(grads, variables)
        return self.report({**terms, "beta": beta})

    def test_step(self, data):
        """The same terms on held-out data, without an update (for `evaluate` and validation)."""
        x_model, labels = self.unpack_batch(data)
        (seed,) = self.step_seeds(1)
        beta = self.current_beta(self.optimizer.iterations)
        _, terms = self._objective(*self._terms(x_model, labels, seed, self.k_samples, False), beta)
        return self.report({**terms, "beta": beta})

    def call(self, inputs, training=False):
        """Decoder mean in data space: z (B, latent_dim) [, labels (B,)] -> (B, *data_shape)."""
        z, labels = (inputs if self.num_classes else (inputs, None))
        return self.to_data_space(self.observation.mean(self._decode(z, labels, training)))

    # ---- inference ------------------------------------------------------------------
    def encode(self, x, labels=None):
        """Posterior (mean, log_var), numpy (B, latent_dim) each, for data-space x [and labels]."""
        x = np.asarray(x, np.float32)
        self.check_data(x)
        labels = self.sample_labels(len(x), labels, required=True)
        mean, log_var = self._posterior(self.to_model_space(x), labels, False)
        return ops.convert_to_numpy(mean), ops.convert_to_numpy(log_var)

    def decode(self, z, labels=None, batch_size=256):
        """Decoder mean in data space for z (B, latent_dim) [and labels (B,)], numpy."""
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (B, {self.latent_dim}), got {z.shape}")
        labels = self.sample_labels(len(z), labels, required=True)
        out = [ops.convert_to_numpy(self(self._with_labels(z[i:i + batch_size], None if labels is None else
                                                           labels[i:i + batch_size])))
               for i in range(0, len(z), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, *self.data_shape), np.float32)

    def export_functions(self) -> dict:
        specs = {"x": tf.TensorSpec([None, *self.data_shape], tf.float32, name="x")}
        if self.num_classes:
            specs["labels"] = tf.TensorSpec([None], tf.int32, name="labels")

        def encode(x, labels=None):
            mean, log_var = self._posterior(self.to_model_space(x), labels, False)
            return {"mean": tf.cast(mean, tf.float32), "log_var": tf.cast(log_var, tf.float32)}

        def log_likelihood(x, labels=None):
            seed = tf.constant(EXPORT_LIKELIHOOD_SEED, tf.int64)
            log_w, elbo = self._eval_terms(x, labels, seed, tf.constant(EXPORT_IMPORTANCE_SAMPLES))
            log_k = tf.math.log(tf.constant(float(EXPORT_IMPORTANCE_SAMPLES)))
            return {"iwae_bound": tf.cast(tf.reduce_logsumexp(log_w, axis=0) - log_k, tf.float32),
                    "elbo": tf.cast(tf.reduce_mean(elbo, axis=0), tf.float32)}

        return {"encode": (encode, specs, None), "log_likelihood": (log_likelihood, dict(specs), None)}

    def reconstruct(self, x, labels=None):
        """decode(posterior mean of x) in data space."""
        return self.decode(self.encode(x, labels)[0], labels)

    def _latents_from_noise(self, noise):
        """The decoder's z (B, latent_dim) from prior noise (B, *export_noise shape), numpy: the
        noise itself for a standard-normal prior."""
        return noise

    def sample(self, n, seed=None, labels=None, truncation=None, batch_size=256):
        """n samples (decoder means for z from the prior) in data space, numpy (n, *data_shape).

        Args:
            n: number of samples.
            seed: the same seed gives the same samples (and the ONNX export's
                `OnnxGenerator.sample(n, seed)` gives them too: both draw with `kerasgen.noise.draw`).
            labels: int (n,) classes for a CVAE; when None, classes cycle 0..num_classes-1.
            truncation: draw the prior noise truncated to |z| <= truncation (the truncation trick:
                typical samples at the cost of variety), or None for the full prior.
        """
        prior = noise_lib.draw(self.export_noise(), n, seed, truncation)
        labels = self.sample_labels(len(prior), labels)
        return self.decode(self._latents_from_noise(prior), labels, batch_size)

    def bound_terms(self, x, labels=None, k=1, seed=0, stream=0):
        """Per-sample ELBO parts for data-space x, for evaluation (no update).

        Args:
            x: (B, *data_shape) data-space batch; labels: int (B,) for a CVAE.
            k: posterior samples per example.
            seed, stream: ints; the same pair gives the same draws (vary `stream` between calls
                that must draw independently).

        Returns:
            dict of float64 numpy arrays (k, B): "log_weight" = log p(x, z) - log q(z|x)
            (the importance weight, in data space), "elbo" (the same with the analytic KL,
            equal in expectation), both including the standardisation's Jacobian.
        """
        x = self.check_data(np.asarray(x, np.float32))
        labels = self.sample_labels(len(x), labels, required=True)
        if self._eval_fn is None:
            self._eval_fn = tf.function(self._eval_terms, reduce_retracing=True, autograph=False)
        log_w, elbo = self._eval_fn(tf.constant(x), None if labels is None else tf.constant(labels),
                                    tf.constant([int(seed), int(stream)], tf.int64), tf.constant(int(k)))
        return {"log_weight": log_w.numpy().astype(np.float64), "elbo": elbo.numpy().astype(np.float64)}

    def _eval_terms(self, x, labels, seed, k):
        recon, kl_mc, kl_analytic = self._terms(self.to_model_space(x), labels, seed, k, False)
        jac = self.log_det_to_model_space()
        return -(recon + kl_mc) + jac, -(recon + kl_analytic) + jac

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "latent_dim": self.latent_dim,
            "likelihood": self.likelihood,
            "decoder_scale": self.decoder_scale,
            "beta": self.beta,
            "kl_warmup_steps": self.kl_warmup_steps,
            "kl_cycle_steps": self.kl_cycle_steps,
            "kl": self.kl,
            "objective": self.objective,
            "k_samples": self.k_samples,
            "num_classes": self.num_classes,
            "optimizer_config": self.optimizer_config,
        }
