"""Generator-only SavedModels in the TF Serving layout `base_dir/<version>/`, verified at export."""

from __future__ import annotations

import os
import shutil
import uuid

import numpy as np
import tensorflow as tf

from kerasgen.export import graph
from kerasgen.export.card import build_card, write_card
from kerasgen.export.serving import predict_response, request_feeds
from kerasgen.io import require_finite_weights


class _Served(tf.Module):
    """Holds the float32 model so its variables (and nothing of training) are saved."""

    def __init__(self, model):
        super().__init__()
        self.model = model


def versions(base_dir) -> list[int]:
    """Integer version folders under `base_dir`, ascending (what TF Serving would load)."""
    if not os.path.isdir(base_dir):
        return []
    return sorted(int(d) for d in os.listdir(base_dir) if d.isdigit() and os.path.isdir(os.path.join(base_dir, d)))


DEFAULT_MAX_BATCH = 4096


def _checked(fn, specs, num_classes, max_batch):
    """`fn` behind checks of its inputs that a server turns into an error answer (TF Serving: HTTP
    400 with the message) instead of NaN output or an out-of-memory crash: batch (or num_samples)
    within [0, max_batch], float inputs finite, labels within [0, num_classes)."""

    def checked(*args):
        checks = []
        for (name, spec), value in zip(specs.items(), args):
            if spec.shape.rank:
                checks.append(tf.debugging.assert_less_equal(
                    tf.shape(value)[0], max_batch, message=f"{name}: batch larger than max_batch={max_batch}"))
            if spec.dtype.is_floating:
                checks.append(tf.debugging.assert_all_finite(value, f"{name} contains NaN or infinite values"))
            if name == "labels" and num_classes:
                checks.append(tf.debugging.assert_non_negative(value, message=f"labels must lie in [0, {num_classes - 1}]"))
                checks.append(tf.debugging.assert_less(value, num_classes, message=f"labels must lie in [0, {num_classes - 1}]"))
            if name == "num_samples":
                checks.append(tf.debugging.assert_non_negative(value, message="num_samples must be >= 0"))
                checks.append(tf.debugging.assert_less_equal(value, max_batch,
                                                             message=f"num_samples larger than max_batch={max_batch}"))
        with tf.control_dependencies(checks):
            return fn(*[tf.identity(a) for a in args])

    return checked


def signature_functions(model, uint8=False, max_batch=DEFAULT_MAX_BATCH) -> dict:
    """name -> (tf.function with an input signature, specs) of the SavedModel, for a float32 model.

    `serving_default` (and `generate`): noise [, labels] -> samples; `sample`: num_samples, seed;
    VAEs add `decode` (= generate), `encode` and `log_likelihood` (importance-weighted bound and
    ELBO); flows add `log_prob`. Every signature checks its
    inputs first (`max_batch` examples at most, finite floats, labels in range).
    """
    fns = graph.functions(model, uint8)
    if graph.is_translation(model):  # serving_default is the (A -> B) translation; no sampling
        out = {"serving_default": fns["translate"], **fns}
        return {name: (tf.function(_checked(fn, specs, None, max_batch), input_signature=list(specs.values())), specs)
                for name, (fn, specs) in out.items()}
    generate, gen_specs = fns.pop("generate")
    out = {"serving_default": (generate, gen_specs), "generate": (generate, gen_specs)}
    if "encode" in fns:
        out["decode"] = (generate, gen_specs)
    out["sample"] = graph.sample_function(model, generate)
    out.update(fns)
    classes = graph.num_classes(model)
    return {name: (tf.function(_checked(fn, specs, classes, max_batch), input_signature=list(specs.values())), specs)
            for name, (fn, specs) in out.items()}


def _outputs_of(concrete) -> dict:
    return {k: {"dtype": v.dtype.name, "shape": [None if d is None else int(d) for d in v.shape]}
            for k, v in concrete.structured_outputs.items()}


def _verify(loaded, fns, model) -> dict:
    """Runs every signature of the loaded SavedModel against Keras, run eagerly (the function each
    signature traced, called as plain Python: a graph that traces differently from the model is caught);
    name -> {"batch N": max diff}."""
    parity = {}
    for name, (traced, specs) in fns.items():
        signature, fn = loaded.signatures[name], traced.python_function
        if name == "sample":
            a = signature(num_samples=tf.constant(3), seed=tf.constant(5, tf.int64))
            b = fn(tf.constant(3), tf.constant(5, tf.int64))
            parity[name] = {"batch 3": graph.compare(name, {k: v.numpy() for k, v in a.items()},
                                                     {k: v.numpy() for k, v in b.items()}, 3)}
            continue
        parity[name] = {}
        for batch in graph.VERIFY_BATCHES:
            inputs = graph.verification_inputs(model, specs, batch)
            got = signature(**{k: tf.constant(v) for k, v in inputs.items()})
            want = graph.reference(fn, specs, inputs)
            parity[name][f"batch {batch}"] = graph.compare(name, {k: v.numpy() for k, v in got.items()}, want, batch)
    return parity


def saved_model(model, base_dir, version=None, uint8=False, verify=True, data_spec=None, metrics=None,
                max_batch=DEFAULT_MAX_BATCH) -> str:
    """Exports the generator of a kerasgen model as a SavedModel for TF Serving.

    Args:
        model: a trained kerasgen model (any precision policy; exported in float32).
        base_dir: the model's folder; the export goes to `base_dir/<version>/`.
        version: integer version; default one more than the highest present (1 when none).
            An existing version is never overwritten.
        uint8: image samples as uint8 in [0, 255] instead of float32 in [-1, 1].
        verify: load the written SavedModel and compare every signature with Keras at batch 1
            and 3 (raises `ExportMismatchError` past 1e-4 + 1e-5 |value|).
        data_spec, metrics: recorded in `model_card.json` (metrics default to the last `fit`'s).
        max_batch: the largest batch (or `num_samples`) a signature accepts; larger requests get an
            error answer, like NaN inputs and labels out of range (recorded in the card).

    Returns:
        The version folder. It appears only when complete: the SavedModel is written to a
        hidden temporary folder in `base_dir`, verified, then renamed into place.
    
    Raises:
        kerasgen.io.NonFiniteWeightsError: the model holds NaN or infinite weights (batch-norm
            moving statistics included); nothing is written.
    """
    require_finite_weights(model, "export")
    existing = versions(base_dir)
    version = (existing[-1] + 1 if existing else 1) if version is None else int(version)
    if version < 1:
        raise ValueError(f"version must be a positive integer, got {version}")
    final = os.path.join(base_dir, str(version))
    if os.path.exists(final):
        raise FileExistsError(f"{final} exists; versions are never overwritten (pass another version)")
    os.makedirs(base_dir, exist_ok=True)
    tmp = os.path.join(base_dir, f".tmp-{version}-{uuid.uuid4().hex[:8]}")
    model32 = graph.float32_copy(model)
    if int(max_batch) < 1:
        raise ValueError(f"max_batch must be >= 1, got {max_batch}")
    fns = signature_functions(model32, uint8, int(max_batch))
    try:
        module = _Served(model32)
        concrete = {name: fn.get_concrete_function() for name, (fn, _) in fns.items()}
        tf.saved_model.save(module, tmp, signatures=concrete)
        parity = _verify(tf.saved_model.load(tmp), fns, model32) if verify else {}
        card = build_card(model, "savedmodel", {n: s for n, (_, s) in fns.items()},
                          {n: _outputs_of(c) for n, c in concrete.items()}, parity, data_spec, metrics, uint8)
        card["max_batch"] = int(max_batch)
        if model32 is not model:
            card["mixed_precision_gap"] = _mixed_gap(model, model32)
        write_card(card, os.path.join(tmp, "model_card.json"))
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _mixed_gap(model, model32) -> float:
    """Max |mixed-precision model - its float32 export| on the verification noise (informative)."""
    if graph.is_translation(model):
        (_, fn32), (_, fn) = (m.export_translations()["translate"] for m in (model32, model))
        specs = graph.translation_functions(model32)["translate"][1]
        source = tf.constant(graph.verification_inputs(model32, specs, 3)["source"])
        return float(np.abs(np.asarray(fn(source), np.float64) - np.asarray(fn32(source), np.float64)).max())
    specs = graph.generate_spec(model32)
    inputs = graph.verification_inputs(model32, specs, 3)
    args = [tf.constant(v) for v in inputs.values()]
    a = np.asarray(model.export_generate(*args), np.float64)
    b = np.asarray(model32.export_generate(*args), np.float64)
    return float(np.abs(a - b).max())


def _op_error_text(err) -> str:
    """The message a failed check carries, without TensorFlow's graph-execution framing."""
    lines = [line.strip() for line in err.message.splitlines()]
    useful = [line for line in lines if line and not line.startswith(("Graph execution error", "Detected at node",
                                                                       "<stack traces", "[[", "Condition x"))]
    return (useful[0] if useful else lines[0]).split(" [Op:")[0]


def serve_rest(saved_model, request: dict) -> dict:
    """Answers a REST predict JSON body the way TF Serving does, from a SavedModel folder (or a
    loaded one): the contract a client of the served model relies on, checked without the server.
    A bad request (missing or unknown inputs, wrong shapes or dtypes, NaN, a batch over the
    export's `max_batch`, labels out of range) gets `{"error": message}`, as TF Serving answers
    it, never an exception."""
    loaded = tf.saved_model.load(saved_model) if isinstance(saved_model, (str, os.PathLike)) else saved_model
    if not isinstance(request, dict):
        return {"error": "the request body must be a JSON object"}
    name = request.get("signature_name", "serving_default")
    if name not in loaded.signatures:
        return {"error": f"Serving signature name: \"{name}\" not found in signature def"}
    signature = loaded.signatures[name]
    specs = signature.structured_input_signature[1]
    try:
        feeds = request_feeds(request, specs)
    except ValueError as err:
        return {"error": str(err)}
    try:
        tensors = {k: tf.constant(np.asarray(v), dtype=specs[k].dtype) for k, v in feeds.items()}
        for k, t in tensors.items():
            if not specs[k].shape.is_compatible_with(t.shape):
                return {"error": f"{k} must have shape {specs[k].shape}, got {t.shape}"}
        outputs = signature(**tensors)
    except (TypeError, ValueError) as err:  # values that do not convert to the input's dtype
        return {"error": f"bad input: {' '.join(str(err).split())[:300]}"}
    except tf.errors.OpError as err:  # the signature's own checks (InvalidArgumentError)
        return {"error": _op_error_text(err)}
    return predict_response({k: v.numpy() for k, v in outputs.items()}, columnar="inputs" in request)
