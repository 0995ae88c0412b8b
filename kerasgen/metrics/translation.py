"""Metrics of image-to-image translation: how close translated images are to the real targets.

- `psnr`: peak signal-to-noise ratio in dB, 10 log10(range^2 / MSE), per image then averaged
  (`tf.image.psnr`); images in `value_range` (default [-1, 1], so the peak-to-peak range is 2).
- `ssim`: structural similarity (`tf.image.ssim`, Gaussian window of 11 pixels, or the largest odd
  size that fits smaller images, sigma 1.5), per image then averaged; 1 for identical images.
- `l1`: mean absolute difference per pixel.
- FID/KID between the translated and the real targets, in any feature space (`kerasgen.metrics`).
- label preservation: the share of translated images that the bundled digit classifier assigns
  the source's label (with the real targets' share as the reference).

`evaluate_translation` computes any of them for a trained model as JSON-ready records, like
`kerasgen.metrics.evaluate` does for generators; `kerasgen evaluate RUN` calls it for translation runs.
"""

from __future__ import annotations

import numpy as np

TRANSLATION_METRICS = ("psnr", "ssim", "l1", "fid", "kid", "labels")
DEFAULT_TRANSLATION_METRICS = ("psnr", "ssim", "l1")


def _pair(a, b, value_range):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if a.shape != b.shape or a.ndim != 4 or len(a) == 0:
        raise ValueError(f"compare two non-empty batches of images (N, H, W, C) of one shape, got {a.shape} and "
                         f"{b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("the images contain NaN or infinite values")
    lo, hi = (float(v) for v in value_range)
    return a - lo, b - lo, hi - lo


def psnr(a, b, value_range=(-1.0, 1.0)) -> float:
    """Mean PSNR (dB) of images `a` against references `b`, (N, H, W, C) each; identical images give inf."""
    import tensorflow as tf

    a, b, width = _pair(a, b, value_range)
    return float(np.mean(tf.image.psnr(a, b, max_val=width).numpy()))


def ssim(a, b, value_range=(-1.0, 1.0)) -> float:
    """Mean SSIM of images `a` against references `b`, (N, H, W, C) each, in [-1, 1] (1: identical)."""
    import tensorflow as tf

    a, b, width = _pair(a, b, value_range)
    size = min(11, a.shape[1], a.shape[2])
    size -= 1 - size % 2  # an odd window that fits
    return float(np.mean(tf.image.ssim(a, b, max_val=width, filter_size=size).numpy()))


def l1(a, b) -> float:
    """Mean |a - b| per pixel."""
    a, b, _ = _pair(a, b, (0.0, 1.0))
    return float(np.mean(np.abs(a - b)))


def label_preservation(images, labels) -> float:
    """Share of `images` (N, H, W, 1) in [-1, 1] that the bundled digit classifier puts in class `labels` (N,)."""
    from kerasgen.metrics.features import get_extractor

    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape ({len(images)},), got {labels.shape}")
    predicted = np.argmax(get_extractor("digits").probabilities(np.clip(images, -1.0, 1.0)), axis=1)
    return float(np.mean(predicted == labels))


def parse_metrics(metrics) -> list[str]:
    """Metric names from "psnr,ssim" or a list, lower-cased; ValueError naming any not in
    `TRANSLATION_METRICS` (or none given)."""
    metrics = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics) if m.strip()]
    unknown = [m for m in metrics if m not in TRANSLATION_METRICS]
    if not metrics or unknown:
        raise ValueError(f"unknown translation metric(s) {', '.join(unknown) or '(none given)'}; use any of "
                         f"{', '.join(TRANSLATION_METRICS)}")
    return metrics


def evaluate_translation(model, source, target, labels=None, metrics=DEFAULT_TRANSLATION_METRICS, features=None,
                         direction="a_to_b", seed=0, batch_size=256, to_labelled=None) -> dict:
    """Translates `source` and compares the output with `target`.

    Args:
        model: a trained translation model (`translate`).
        source: (N, *source shape) images; target: (N, *target shape) the true translations.
        labels: (N,) int classes of the sources (for "labels").
        metrics: any of `TRANSLATION_METRICS`.
        features: feature space of "fid"/"kid" (see `kerasgen.metrics.features.embed`).
        direction: "a_to_b" or, for CycleGAN, "b_to_a".
        to_labelled: for "labels", a function mapping outputs (and targets) to the domain the digit
            classifier reads, e.g. the inverse of an unpaired set's known transform
            (`kerasgen.data.transforms.get_inverse`); None when the outputs are digits as they are.

    Returns:
        {metric: record}, each record JSON-ready with "value" and details.
    """
    from kerasgen.metrics import distances, features as feature_module

    metrics = parse_metrics(metrics)
    output = np.clip(model.translate(source, direction=direction, batch_size=batch_size), -1.0, 1.0)
    target = np.asarray(target, np.float32)
    common = {"n": int(len(output)), "direction": direction}
    out = {}
    if "psnr" in metrics:
        out["psnr"] = {"value": psnr(output, target), "unit": "dB", **common}
    if "ssim" in metrics:
        out["ssim"] = {"value": ssim(output, target), **common}
    if "l1" in metrics:
        out["l1"] = {"value": l1(output, target), **common}
    if "fid" in metrics or "kid" in metrics:
        extractor = feature_module.get_extractor(features)
        real_f, fake_f = feature_module.embed(target, extractor), feature_module.embed(output, extractor)
        details = {"features": feature_module.extractor_name(features), **common}
        if "fid" in metrics:
            out["fid"] = {"value": distances.fid(real_f, fake_f), **details}
        if "kid" in metrics:
            result = distances.kid(real_f, fake_f, seed=seed)
            out["kid"] = {"value": result.mean, "std": result.std, **details}
    if "labels" in metrics:
        if labels is None:
            raise ValueError("labels (label preservation) needs the sources' labels")
        readable_output, readable_target = ((output, target) if to_labelled is None
                                            else (to_labelled(output), to_labelled(target)))
        if readable_output.shape[-1] != 1:
            raise ValueError("label preservation uses the digit classifier: grey-scale targets only")
        out["labels"] = {"value": label_preservation(readable_output, labels),
                         "real_value": label_preservation(readable_target, labels), **common}
    return out


def format_rows(records: dict) -> list[tuple[str, str, str, str]]:
    """(metric, value, +-, details) rows of `evaluate_translation`'s records."""
    rows = []
    for name, r in records.items():
        detail = f"{r['n']} images, {r['direction']}"
        if name == "psnr":
            rows.append(("PSNR (dB)", f"{r['value']:.3f}", "", detail))
        elif name == "ssim":
            rows.append(("SSIM", f"{r['value']:.4f}", "", detail))
        elif name == "l1":
            rows.append(("L1", f"{r['value']:.4f}", "", detail))
        elif name == "fid":
            rows.append(("FID", f"{r['value']:.4f}", "", f"{r['features']} features, {detail}"))
        elif name == "kid":
            rows.append(("KID", f"{r['value']:.5f}", f"{r['std']:.5f}", f"{r['features']} features, {detail}"))
        elif name == "labels":
            rows.append(("labels kept", f"{r['value']:.4f}", "", f"real targets {r['real_value']:.4f}, {detail}"))
    return rows
