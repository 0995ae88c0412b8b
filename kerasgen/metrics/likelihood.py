"""Likelihood metrics: the ELBO, the importance-sampled log-likelihood (the IWAE estimator) of
models with a variational bound, the exact log-likelihood of flows (models with `log_prob`),
bits per dimension, and per-example anomaly scores.

Every value is in the data's own space: for standardised vectors the model's
density is corrected by the standardisation's Jacobian. Bits per dimension are
nats / (D ln 2) with D the number of values per example; they have the usual
meaning for discrete likelihoods (Bernoulli on binary data, the discretised
logistic on 8-bit images) and are a differential entropy rate otherwise.

Reference: Burda, Grosse & Salakhutdinov 2016 (the K-sample estimator
log (1/K) sum_k p(x, z_k) / q(z_k | x), a lower bound that tightens with K).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.special import logsumexp

_MAX_ROWS = 8192  # decoder rows per evaluation call (k-chunk x batch)


@dataclasses.dataclass(frozen=True)
class LikelihoodEstimate:
    """An average negative log-likelihood (or bound) over a dataset.

    Attributes:
        nll: mean -log p(x) estimate (or -ELBO), nats per example.
        bits_per_dim: nll / (D ln 2).
        stderr: standard error of `nll` over the examples.
        n: number of examples.
        k: importance samples per example (0: the model's exact likelihood, as for flows).
    """

    nll: float
    bits_per_dim: float
    stderr: float
    n: int
    k: int

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _exact(model) -> bool:
    return getattr(model, "likelihood_kind", None) == "exact"


def _check_model(model):
    if getattr(model, "likelihood_kind", None) not in ("exact", "bound"):
        raise TypeError(f"{type(model).__name__} has no variational bound or density to evaluate "
                        "(likelihood metrics need a flow or a VAE-family model with a Gaussian posterior)")


def _batches(data, labels, batch_size):
    """(x, labels) numpy batches from an array (with optional labels) or a dataset of x or (x, y)."""
    if hasattr(data, "as_numpy_iterator"):
        if labels is not None:
            raise ValueError("pass labels inside the dataset, as (x, labels) batches")
        for batch in data.as_numpy_iterator():
            if isinstance(batch, tuple):
                yield batch[0], (batch[1] if len(batch) > 1 else None)
            else:
                yield batch, None
        return
    x = np.asarray(data, np.float32)
    if labels is not None and len(labels) != len(x):
        raise ValueError(f"labels ({len(labels)}) and data ({len(x)}) differ in length")
    for i in range(0, len(x), batch_size):
        yield x[i:i + batch_size], None if labels is None else np.asarray(labels)[i:i + batch_size]


def _labels_for(model, y):
    return y if getattr(model, "num_classes", None) else None


def per_example_log_likelihood(model, x, labels=None, k=1000, seed=0, stream=0):
    """Importance-sampled log p(x) for each example, float64 (B,), with K = k samples (exact for flows).

    The posterior samples are drawn in chunks so that memory stays bounded for any k.
    """
    _check_model(model)
    if _exact(model):
        return model.log_prob(x, labels)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    chunk = max(1, min(k, _MAX_ROWS // max(len(x), 1)))
    parts, done, call = [], 0, 0
    while done < k:
        size = min(chunk, k - done)
        parts.append(model.bound_terms(x, labels, k=size, seed=seed, stream=stream * 1_000_003 + call)["log_weight"])
        done, call = done + size, call + 1
    return logsumexp(np.concatenate(parts, axis=0), axis=0) - math.log(k)


def per_example_elbo(model, x, labels=None, k=1, seed=0, stream=0):
    """The ELBO (analytic KL where the model has one) for each example, averaged over k draws, (B,);
    a flow's exact log-likelihood."""
    _check_model(model)
    if _exact(model):
        return model.log_prob(x, labels)
    return model.bound_terms(x, labels, k=k, seed=seed, stream=stream)["elbo"].mean(axis=0)


def _estimate(model, per_example, data, labels, batch_size, k, seed):
    values = []
    for i, (x, y) in enumerate(_batches(data, labels, batch_size)):
        values.append(per_example(model, x, _labels_for(model, y), k=k, seed=seed, stream=i))
    values = np.concatenate(values) if values else np.zeros(0)
    if values.size == 0:
        raise ValueError("no data to evaluate")
    dims = math.prod(model.data_shape)
    nll = float(-values.mean())
    stderr = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else float("nan")
    return LikelihoodEstimate(nll=nll, bits_per_dim=nll / (dims * math.log(2)), stderr=stderr, n=len(values),
                              k=0 if _exact(model) else k)


def elbo(model, data, labels=None, batch_size=256, k=1, seed=0) -> LikelihoodEstimate:
    """Negative ELBO over a dataset (an upper bound on the NLL).

    Args:
        model: a VAE-family model.
        data: data-space array (N, *data_shape), or a `tf.data.Dataset` of x or (x, labels) batches.
        labels: int (N,) for a conditional model given an array.
        batch_size: examples per evaluation call.
        k: posterior draws averaged per example.
        seed: the same seed gives the same estimate.

    Returns:
        `LikelihoodEstimate` with nll = -ELBO in nats per example, and bits/dim.
    """
    return _estimate(model, per_example_elbo, data, labels, batch_size, k, seed)


def log_likelihood(model, data, labels=None, k=1000, batch_size=100, seed=0) -> LikelihoodEstimate:
    """Importance-sampled NLL over a dataset: -log (1/K) sum_k p(x, z_k) / q(z_k | x).

    The estimate is a stochastic lower bound on log p(x) (so `nll` is an upper bound
    on the true NLL in expectation) that tightens as k grows; k >= 1000 is the usual
    reporting choice. Arguments as for `elbo`.
    """
    return _estimate(model, per_example_log_likelihood, data, labels, batch_size, k, seed)


def bits_per_dim(model, data, labels=None, k=1000, batch_size=100, seed=0) -> float:
    """Negative log-likelihood in bits per dimension: exact for flows, the K-sample estimate for VAEs."""
    return log_likelihood(model, data, labels, k=k, batch_size=batch_size, seed=seed).bits_per_dim


def anomaly_score(model, x, labels=None, method="elbo", k=100, seed=0, batch_size=256):
    """Per-example anomaly score: -ELBO ("elbo") or importance-sampled NLL ("nll"), nats, (N,);
    for flows both are the exact negative log-likelihood.

    Higher means less likely under the model. Scores are in the data's own space, so
    they compare across examples of one dataset (not across data of different sizes).
    """
    if method not in ("elbo", "nll"):
        raise ValueError(f"unknown anomaly score method {method!r}; use 'elbo' or 'nll'")
    per_example = per_example_elbo if method == "elbo" else per_example_log_likelihood
    draws = 1 if method == "elbo" else k
    _check_model(model)
    scores = [-per_example(model, xb, _labels_for(model, yb), k=draws, seed=seed, stream=i)
              for i, (xb, yb) in enumerate(_batches(x, labels, batch_size))]
    return np.concatenate(scores) if scores else np.zeros(0)
