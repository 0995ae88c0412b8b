"""Evaluation metrics: mode coverage on toy mixtures; ELBO, likelihood (importance-sampled or exact), bits/dim,
anomaly scores; Fréchet and kernel distances (FID, KID) in a feature space."""

from kerasgen.metrics.distances import KID, fid, frechet_distance, kid, statistics
from kerasgen.metrics.likelihood import LikelihoodEstimate, anomaly_score, bits_per_dim, elbo, log_likelihood
from kerasgen.metrics.modes import mode_coverage

__all__ = ["KID", "fid", "frechet_distance", "kid", "statistics", "LikelihoodEstimate", "anomaly_score", "bits_per_dim", "elbo", "log_likelihood", "mode_coverage"]
