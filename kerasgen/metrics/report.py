"""Evaluates a trained model with several metrics at once, as plain records for tables and JSON.

Used by `kerasgen evaluate` and the quality benchmark. Metric names:
- "nll": importance-sampled (VAEs) or exact (flows) negative log-likelihood, with bits/dim;
- "elbo": the negative ELBO;
- "fid", "kid": distances between real and sampled features;
- "is": the Inception score of the samples (with the real data's score for reference);
- "pr": precision and recall; "dc": density and coverage;
- "modes": mode coverage, for data from a toy Gaussian mixture (`toy2d:8gaussians`, `25gaussians`).
"""

from __future__ import annotations

import numpy as np

from kerasgen.metrics import distances, features as feature_module
from kerasgen.metrics.inception_score import inception_score
from kerasgen.metrics.likelihood import elbo, log_likelihood
from kerasgen.metrics.modes import mode_coverage
from kerasgen.metrics.precision_recall import density_coverage, precision_recall

LIKELIHOOD_METRICS = ("nll", "elbo")
SAMPLE_METRICS = ("fid", "kid", "is", "pr", "dc", "modes")
METRICS = LIKELIHOOD_METRICS + SAMPLE_METRICS


def parse_metrics(spec) -> list[str]:
    """["fid", "kid"] from "fid,kid" (or a list); raises ValueError naming unknown metrics."""
    names = [m.strip().lower() for m in (spec.split(",") if isinstance(spec, str) else spec) if m.strip()]
    unknown = [m for m in names if m not in METRICS]
    if not names or unknown:
        raise ValueError(f"unknown metric(s) {', '.join(unknown) or '(none given)'}; use any of {', '.join(METRICS)}")
    return list(dict.fromkeys(names))


def default_features(data_shape, is_image: bool) -> str:
    """The feature space `evaluate` uses unless told: digits for 1-channel images, Inception for RGB,
    the raw values for vectors."""
    if not is_image:
        return "identity"
    return "digits" if data_shape[-1] == 1 else "inception"


def evaluate(model, x, y=None, metrics=("fid", "kid"), features=None, n: int = 10000, seed: int = 0,
             k: int = 1000, batch_size: int = 100, mixture=None, image_range=(-1.0, 1.0)) -> dict:
    """Evaluates `model` against real examples `x` (labels `y`) with each metric in `metrics`.

    Args:
        model: a trained kerasgen model.
        x: (N, ...) real examples in the data range; y: (N,) int labels or None.
        metrics: names from `METRICS`.
        features: feature space for the sample metrics (see `features.embed`); "is" needs a
            classifier ("digits", "inception" or an object with `probabilities`).
        n: samples drawn for the sample metrics (labels drawn by the model for conditional ones).
        seed: sampling seed.
        k: importance samples per example for "nll" (VAEs).
        batch_size: examples per likelihood batch.
        mixture: an object with `centers` and `std` (a toy2d Gaussian mixture) for "modes".
        image_range: samples of image models are clipped to it before feature extraction; the
            fraction that needed clipping is recorded.

    Returns:
        {metric: record}: each record a JSON-ready dict with "value" (the headline number) and details.
    """
    metrics = parse_metrics(metrics)
    out = {}
    labels = y if getattr(model, "num_classes", None) else None
    for name in (m for m in metrics if m in LIKELIHOOD_METRICS):
        if getattr(model, "likelihood_kind", None) is None:
            raise ValueError(f"{type(model).__name__} has no likelihood bound; {name} needs a flow or a VAE-family "
                             "model with a Gaussian posterior")
        result = (log_likelihood(model, x, labels, k=k, batch_size=batch_size, seed=seed) if name == "nll"
                  else elbo(model, x, labels, batch_size=batch_size, seed=seed))
        out[name] = {"value": result.nll, "stderr": result.stderr, **result.to_dict()}
    sample_metrics = [m for m in metrics if m in SAMPLE_METRICS]
    if not sample_metrics:
        return out
    if n < 2:
        raise ValueError(f"sample metrics need n >= 2 samples, got {n}")
    samples = np.asarray(model.sample(n, seed=seed))
    clipped = 0.0
    if samples.ndim == 4:
        clipped = float(np.mean((samples < image_range[0]) | (samples > image_range[1])))
        samples = np.clip(samples, *image_range)
    common = {"features": feature_module.extractor_name(features), "n_samples": int(n), "n_real": int(len(x)),
              "clipped_fraction": clipped}
    if "modes" in sample_metrics:
        if mixture is None or not hasattr(mixture, "centers"):
            raise ValueError("modes needs data from a toy Gaussian mixture (toy2d:8gaussians or toy2d:25gaussians)")
        result = mode_coverage(samples, mixture.centers, mixture.std)
        out["modes"] = {"value": result["modes"], **result, "n_samples": int(n)}
    feature_metrics = [m for m in sample_metrics if m != "modes"]
    if not feature_metrics:
        return out
    extractor = feature_module.get_extractor(features)
    if "is" in feature_metrics and not hasattr(extractor, "probabilities"):
        raise ValueError("is needs a classifier: use the digits or inception features")
    real_f, fake_f = feature_module.embed(x, extractor), feature_module.embed(samples, extractor)
    if "fid" in feature_metrics:
        out["fid"] = {"value": distances.fid(real_f, fake_f), **common}
    if "kid" in feature_metrics:
        result = distances.kid(real_f, fake_f, seed=seed)
        out["kid"] = {"value": result.mean, "std": result.std, "subsets": result.subsets,
                      "subset_size": result.subset_size, **common}
    if "is" in feature_metrics:
        splits = min(10, len(samples), len(x))
        fake_is, real_is = inception_score(samples, extractor, splits), inception_score(x, extractor, splits)
        out["is"] = {"value": fake_is.mean, "std": fake_is.std, "splits": splits, "real_value": real_is.mean, **common}
    if "pr" in feature_metrics:
        result = precision_recall(real_f, fake_f)
        out["pr"] = {"value": result.precision, "precision": result.precision, "recall": result.recall,
                     "k": result.k, **common}
    if "dc" in feature_metrics:
        result = density_coverage(real_f, fake_f)
        out["dc"] = {"value": result.density, "density": result.density, "coverage": result.coverage,
                     "k": result.k, **common}
    return out


def table_rows(records: dict) -> list[tuple[str, str, str, str]]:
    """(metric, value, +-, details) rows for printing `evaluate`'s records."""
    rows = []
    for name, r in records.items():
        if name in LIKELIHOOD_METRICS:
            how = "exact" if r["k"] == 0 else f"K={r['k']}"
            label = "NLL (nats)" if name == "nll" else "-ELBO (nats)"
            rows.append((label, f"{r['nll']:.3f}", f"{r['stderr']:.3f}", f"{r['bits_per_dim']:.4f} bits/dim, {how}"))
            continue
        if name == "modes":
            rows.append(("modes", f"{r['modes']} / {r['num_modes']}", "",
                         f"high quality {r['high_quality']:.3f}, reverse KL {r['reverse_kl']:.3f}"))
            continue
        detail = f"{r['features']} features, {r['n_samples']} samples vs {r['n_real']} real"
        if r.get("clipped_fraction"):
            detail += f", {100 * r['clipped_fraction']:.2f}% of values clipped"
        if name == "fid":
            rows.append(("FID", f"{r['value']:.4f}", "", detail))
        elif name == "kid":
            rows.append(("KID", f"{r['value']:.5f}", f"{r['std']:.5f}",
                         f"{detail}, {r['subsets']} subsets of {r['subset_size']}"))
        elif name == "is":
            rows.append(("IS", f"{r['value']:.3f}", f"{r['std']:.3f}", f"real data {r['real_value']:.3f}, "
                                                                         f"{r['splits']} splits"))
        elif name == "pr":
            rows += [("precision", f"{r['precision']:.4f}", "", f"k={r['k']}"),
                     ("recall", f"{r['recall']:.4f}", "", f"k={r['k']}")]
        elif name == "dc":
            rows += [("density", f"{r['density']:.4f}", "", f"k={r['k']}"),
                     ("coverage", f"{r['coverage']:.4f}", "", f"k={r['k']}")]
    return rows


def format_table(records: dict) -> str:
    """A plain-text table of `evaluate`'s records."""
    return render_table(table_rows(records))


def render_table(body) -> str:
    """A plain-text table of (metric, value, +-, details) rows under a header."""
    rows = [("metric", "value", "+-", "details"), *body]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}  {d}".rstrip() for a, b, c, d in rows)
