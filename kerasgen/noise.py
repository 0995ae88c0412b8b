"""The one way generator noise is drawn from a seed, shared by `model.sample(n, seed)` and
`kerasgen.export.OnnxGenerator.sample(n, seed)` (numpy only, so a serving client needs no
TensorFlow): the same seed gives the same noise, so the same samples, in both.

A noise spec is the dict a model's `export_noise()` returns and its model card stores:
- {"kind": "normal", "shape": [D]}: independent standard normals;
- {"kind": "infogan", "latent_dim": L, "categorical_codes": [K...], "continuous_codes": C}:
  L normals, one one-hot code per K and C uniforms in [-1, 1], concatenated in that order;
- {"kind": "codes", "shape": grid, "num_codes": K, "code_frequencies": (positions * K)}: one
  code per grid position, drawn from that position's frequencies (VQ-VAE).

The SavedModel `sample(num_samples, seed)` signature draws in-graph with TensorFlow's stateless
generator instead (`model.prior_noise`): a stream of its own, documented in the model card.
"""

from __future__ import annotations

import numpy as np

KINDS = ("normal", "infogan", "codes")


def _normal(rng, shape, truncation):
    if truncation is None:
        return rng.standard_normal(shape)
    if truncation <= 0:
        raise ValueError(f"truncation must be > 0, got {truncation}")
    from scipy.stats import truncnorm

    return truncnorm.rvs(-truncation, truncation, size=shape, random_state=rng)


def draw(spec: dict, n: int, seed=None, truncation: float | None = None) -> np.ndarray:
    """n noise inputs for the noise spec `spec`.

    Args:
        spec: a model's `export_noise()` (or its model card's "noise" entry).
        n: number of draws.
        seed: int or None; the same seed gives the same noise.
        truncation: truncate the normal part to |z| <= truncation (the truncation trick).

    Returns:
        numpy (n, *spec["shape"]): float32 for "normal" and "infogan", int32 codes for "codes".

    Raises:
        ValueError: an unknown kind, or a truncation for code noise.
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng, kind, shape = np.random.default_rng(seed), spec["kind"], tuple(spec["shape"])
    if kind == "normal":
        return _normal(rng, (n, *shape), truncation).astype(np.float32)
    if kind == "infogan":
        parts = [_normal(rng, (n, spec["latent_dim"]), truncation)]
        parts += [np.eye(k)[rng.integers(0, k, n)] for k in spec["categorical_codes"]]
        parts.append(rng.uniform(-1, 1, (n, spec["continuous_codes"])))
        return np.concatenate(parts, axis=1).astype(np.float32)
    if kind == "codes":
        if truncation is not None:
            raise ValueError("truncation applies to normal noise, not to discrete codes")
        num_codes = spec["num_codes"]
        probs = np.asarray(spec["code_frequencies"], np.float64).reshape(-1, num_codes)
        cdf = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
        codes = np.minimum((rng.random((n, len(cdf), 1)) > cdf[None]).sum(axis=2), num_codes - 1)
        return codes.reshape((n, *shape)).astype(np.int32)
    raise ValueError(f"unknown noise kind {kind!r}; known: {', '.join(KINDS)}")
