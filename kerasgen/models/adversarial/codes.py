"""What the GAN step conditions on: the generator input (noise plus InfoGAN codes), the
discriminator's heads, and the auxiliary losses read from them (ACGAN classes, InfoGAN codes)."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from kerasgen.losses import information


def split_outputs(out) -> dict:
    """Discriminator output as a dict with at least "logit"."""
    if isinstance(out, dict):
        if "logit" not in out:
            raise ValueError(f"a discriminator returning a dict must have a 'logit' entry, got {sorted(out)}")
        return out
    if isinstance(out, (list, tuple)):
        return {"logit": out[0]}
    return {"logit": out}


@dataclasses.dataclass(frozen=True)
class LatentCodes:
    """The generator's vector input: `latent_dim` normals, then one one-hot block per categorical
    code and `continuous` uniforms in [-1, 1] (InfoGAN; no codes for other GANs).

    Attributes:
        latent_dim: size of the noise z.
        categorical: number of categories of each categorical code, e.g. (10,).
        continuous: number of continuous codes.
    """

    latent_dim: int
    categorical: tuple = ()
    continuous: int = 0

    @property
    def code_dim(self) -> int:
        """Size of the code block appended to z."""
        return sum(self.categorical) + self.continuous

    @property
    def input_dim(self) -> int:
        """Size of the generator's vector input."""
        return self.latent_dim + self.code_dim

    def noise_spec(self) -> dict:
        """The `kerasgen.noise` spec of the generator input (also the exported noise input)."""
        if not self.code_dim:
            return {"name": "z", "shape": [self.input_dim], "dtype": "float32", "kind": "normal"}
        return {"name": "z", "shape": [self.input_dim], "dtype": "float32", "kind": "infogan",
                "latent_dim": self.latent_dim, "categorical_codes": list(self.categorical),
                "continuous_codes": self.continuous}

    def draw(self, batch, seed):
        """In-graph draw for a train step from a stateless seed (2,).

        Returns:
            (z_full (B, input_dim) float32, categorical codes int32 (B, n) or None, continuous codes
            (B, continuous) or None).
        """
        s = tf.unstack(tf.random.experimental.stateless_split(seed, num=3))
        parts = [tf.random.stateless_normal((batch, self.latent_dim), seed=s[0])]
        cat = cont = None
        if self.categorical:
            cat = tf.stack([tf.random.stateless_uniform((batch,), seed=s[1] + i, minval=0, maxval=k, dtype=tf.int32)
                            for i, k in enumerate(self.categorical)], axis=1)
            parts += [tf.one_hot(cat[:, i], k) for i, k in enumerate(self.categorical)]
        if self.continuous:
            cont = tf.random.stateless_uniform((batch, self.continuous), seed=s[2], minval=-1.0, maxval=1.0)
            parts.append(cont)
        return (tf.concat(parts, axis=1) if len(parts) > 1 else parts[0]), cat, cont

    def combine(self, noise, categorical=None, continuous=None, seed=None):
        """Generator input from noise (B, latent_dim) and chosen codes, numpy float32 (B, input_dim);
        codes not given are drawn at random (seeded by `seed`)."""
        noise = np.asarray(noise, np.float32)
        if noise.ndim != 2 or noise.shape[1] != self.latent_dim:
            raise ValueError(f"noise must have shape (B, {self.latent_dim}), got {noise.shape}")
        if not self.code_dim:
            return noise
        rng = np.random.default_rng(None if seed is None else seed + 1)
        b, parts = len(noise), [noise]
        if self.categorical:
            if categorical is None:
                categorical = np.stack([rng.integers(0, k, b) for k in self.categorical], 1)
            categorical = np.asarray(categorical).reshape(b, len(self.categorical))
            parts += [np.eye(k, dtype=np.float32)[categorical[:, i]] for i, k in enumerate(self.categorical)]
        if self.continuous:
            if continuous is None:
                continuous = rng.uniform(-1, 1, (b, self.continuous))
            parts.append(np.asarray(continuous, np.float32).reshape(b, self.continuous))
        return np.concatenate(parts, axis=1).astype(np.float32)

    def loss(self, heads, cat, cont):
        """InfoGAN's -log q(codes | x) per example (B,) from the discriminator's heads (0 without codes)."""
        info = tf.zeros_like(tf.cast(tf.reshape(heads["logit"], (-1,)), tf.float32))
        if self.categorical:
            info = info + information.categorical_codes_nll(cat, heads["code_logits"], self.categorical)
        if self.continuous:
            info = info + information.continuous_codes_nll(cont, heads["code_mean"])
        return info
