"""`model_card.json`: what a user of an exported generator needs to know, written next to it."""

from __future__ import annotations

import importlib.metadata
import json
import math
import os

PACKAGES = ("kerasgen", "tensorflow", "keras", "tensorflow-probability", "tf2onnx", "onnxruntime", "onnx", "numpy")


def package_versions() -> dict:
    """Installed versions of the packages an export depends on."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def final_metrics(model) -> dict:
    """The last epoch's metrics of the model's latest `fit` in this process, or {}."""
    history = getattr(getattr(model, "history", None), "history", None) or {}
    return {k: float(v[-1]) for k, v in history.items() if v}


def _spec_dict(specs) -> dict:
    return {name: {"dtype": spec.dtype.name, "shape": [None if d is None else int(d) for d in spec.shape]}
            for name, spec in specs.items()}


NOISE_STREAMS = {
    "client": "kerasgen.noise.draw(noise, n, seed) (numpy): what model.sample(n, seed) and "
              "OnnxGenerator.sample(n, seed) use, so both give the same samples for the same seed",
    "sample_signature": "the SavedModel 'sample' signature is 'generate' of model.prior_noise(num_samples, "
                        "[seed, 0]) (TensorFlow's stateless generators, in-graph) and labels cycling over the "
                        "classes: reproducible from its int64 seed, but a stream of its own",
}


def build_card(model, export_format, signatures, outputs, parity, data_spec=None, metrics=None, uint8=False) -> dict:
    """The card's content.

    Args:
        model: the exported kerasgen model.
        export_format: "savedmodel" or "onnx".
        signatures: name -> input specs (dict of `tf.TensorSpec`).
        outputs: name -> {output name: {"dtype", "shape"}}.
        parity: name -> {"batch 1": max abs diff, ...} measured at export.
        data_spec, metrics: the training data spec and final metrics, when known.
        uint8: image samples are uint8 in [0, 255].
    """
    if hasattr(model, "export_translations"):
        return _translation_card(model, export_format, signatures, outputs, parity, data_spec, metrics, uint8)
    is_image = len(model.data_shape) == 3
    noise = model.export_noise()
    return {
        **model.export_notes(),
        "format": export_format,
        "preset": getattr(model, "preset", None),
        "algorithm": type(model).__name__,
        "noise": noise,
        "noise_streams": NOISE_STREAMS,
        "capabilities": model.capabilities,
        "latent_size": int(math.prod(noise["shape"])),
        "condition": {"labels": "int32 (B,)", "num_classes": getattr(model, "num_classes", None)}
        if getattr(model, "num_classes", None) else None,
        "data_shape": list(model.data_shape),
        "num_levels": getattr(model, "num_levels", None),
        "output_range": ([0, 255] if uint8 else [-1.0, 1.0]) if is_image else "the training data's scale",
        "output_dtype": "uint8" if uint8 else "float32",
        **_record(model, signatures, outputs, parity, data_spec, metrics),
    }


def _record(model, signatures, outputs, parity, data_spec, metrics) -> dict:
    """What every card ends with: signatures, training data, final metrics, versions, parity."""
    return {"signatures": {name: {"inputs": _spec_dict(specs), "outputs": outputs.get(name, {})}
                           for name, specs in signatures.items()},
            "training_data": data_spec,
            "final_metrics": metrics if metrics is not None else final_metrics(model),
            "versions": package_versions(),
            "parity": parity}


def _translation_card(model, export_format, signatures, outputs, parity, data_spec, metrics, uint8) -> dict:
    """The card of a translation model: source and target shapes and ranges per direction, no noise."""
    masked = bool(getattr(model, "masked", False))
    source_range = ([0, 255] if uint8 else [-1.0, 1.0])
    directions = {name: {"source_shape": [int(d) for d in shape], "source_range": source_range,
                         "target_shape": list(model.shape_a if name == "translate_b_to_a" else model.data_shape),
                         "target_range": source_range}
                  for name, (shape, _) in model.export_translations().items()}
    return {
        **model.export_notes(),
        "format": export_format,
        "preset": getattr(model, "preset", None),
        "algorithm": type(model).__name__,
        "task": "translation",
        "noise": None,
        "directions": directions,
        "mask_channel": ("the source's last channel is the hole mask: 1 (255 as uint8) in the hole, 0 elsewhere; "
                         "only the hole is replaced") if masked else None,
        "capabilities": model.capabilities,
        "data_shape": list(model.data_shape),
        "output_range": source_range,
        "output_dtype": "uint8" if uint8 else "float32",
        **_record(model, signatures, outputs, parity, data_spec, metrics),
    }


def write_card(card: dict, path: str) -> None:
    """Writes the card atomically (a temporary file renamed into place)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(card, f, indent=2)
    os.replace(tmp, path)
