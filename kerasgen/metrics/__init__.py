"""Evaluation metrics: mode coverage on toy mixtures; ELBO, importance-sampled likelihood, anomaly scores."""

from kerasgen.metrics.likelihood import LikelihoodEstimate, anomaly_score, elbo, log_likelihood
from kerasgen.metrics.modes import mode_coverage

__all__ = ["LikelihoodEstimate", "anomaly_score", "elbo", "log_likelihood", "mode_coverage"]
