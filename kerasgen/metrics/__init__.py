"""Evaluation metrics: mode coverage on toy mixtures; ELBO, likelihood (importance-sampled or exact), bits/dim, anomaly scores."""

from kerasgen.metrics.likelihood import LikelihoodEstimate, anomaly_score, bits_per_dim, elbo, log_likelihood
from kerasgen.metrics.modes import mode_coverage

__all__ = ["LikelihoodEstimate", "anomaly_score", "bits_per_dim", "elbo", "log_likelihood", "mode_coverage"]
