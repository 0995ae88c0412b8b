"""Evaluation metrics.

- Likelihood (`likelihood`): ELBO, importance-sampled or exact log-likelihood, bits/dim, anomaly scores.
- Sample quality in a feature space: Fréchet and kernel distances (FID, KID; `distances`), the
  Inception score (`inception_score`), precision/recall and density/coverage (`precision_recall`).
- Feature extractors (`features`): a bundled digit classifier, Keras' Inception-v3, the Inception graph of the
  original TensorFlow FID code (`inception_fid`), any callable.
- Mode coverage on toy mixtures (`modes`).
- Translation (`translation`): PSNR, SSIM, L1, label preservation, FID/KID of translated images.
- `evaluate`: several of these at once for a trained model, as JSON-ready records (`report`).
"""

from kerasgen.metrics.distances import (KID, fid, frechet_distance, kid, load_statistics, reference_statistics,
                                        save_statistics, statistics)
from kerasgen.metrics.features import DigitFeatures, InceptionFeatures, embed, get_extractor
from kerasgen.metrics.inception_fid import InceptionFIDFeatures
from kerasgen.metrics.inception_score import InceptionScore, class_probabilities, inception_score
from kerasgen.metrics.likelihood import LikelihoodEstimate, anomaly_score, bits_per_dim, elbo, log_likelihood
from kerasgen.metrics.modes import mode_coverage
from kerasgen.metrics.precision_recall import DensityCoverage, PrecisionRecall, density_coverage, precision_recall
from kerasgen.metrics.report import evaluate
from kerasgen.metrics.translation import evaluate_translation, l1, label_preservation, psnr, ssim

__all__ = ["KID", "fid", "frechet_distance", "kid", "load_statistics", "reference_statistics", "save_statistics",
           "statistics", "DigitFeatures", "InceptionFeatures", "InceptionFIDFeatures", "embed", "get_extractor", "InceptionScore",
           "class_probabilities", "inception_score", "LikelihoodEstimate", "anomaly_score", "bits_per_dim", "elbo",
           "log_likelihood", "mode_coverage", "DensityCoverage", "PrecisionRecall", "density_coverage",
           "precision_recall", "evaluate", "evaluate_translation", "psnr", "ssim", "l1", "label_preservation"]
