"""What `kerasgen serve` answers from: an exported SavedModel (TensorFlow), an ONNX export
(onnxruntime and numpy only; TensorFlow is never imported), or a run folder (exported to a
temporary SavedModel first).

A backend answers REST predict bodies exactly as `kerasgen.export.serve_rest` does (the TF Serving
contract: `{"predictions"}`/`{"outputs"}`, or `{"error": message}` for a bad request) and describes
its signatures in TF Serving's metadata format.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import numpy as np

from kerasgen.export.serving import predict_response, request_feeds

_DTYPES = {"float32": "DT_FLOAT", "int32": "DT_INT32", "int64": "DT_INT64", "uint8": "DT_UINT8"}


class ServingError(ValueError):
    """A path that `kerasgen serve` cannot serve; the message says why and what it takes."""


def _tensor_info(name, dtype, shape) -> dict:
    dims = [{"size": str(-1 if d is None else int(d))} for d in shape]
    return {"dtype": _DTYPES.get(dtype, f"DT_{dtype.upper()}"), "tensor_shape": {"dim": dims}, "name": name}


def _signature_def(inputs: dict, outputs: dict) -> dict:
    """TF Serving's signature_def JSON for {name: (dtype, shape)} inputs and outputs."""
    return {"inputs": {k: _tensor_info(k, *v) for k, v in inputs.items()},
            "outputs": {k: _tensor_info(k, *v) for k, v in outputs.items()},
            "method_name": "tensorflow/serving/predict"}


class SavedModelBackend:
    """A SavedModel version folder (`.../<name>/<version>/`) served with TensorFlow."""

    def __init__(self, folder, version: int):
        import tensorflow as tf

        self.folder, self.version = folder, version
        self.loaded = tf.saved_model.load(folder)
        with open(os.path.join(folder, "model_card.json")) as f:
            self.card = json.load(f)

    def signatures(self) -> dict:
        out = {}
        for name, fn in self.loaded.signatures.items():
            specs = fn.structured_input_signature[1]
            inputs = {k: (s.dtype.name, s.shape.as_list() if s.shape.rank is not None else []) for k, s in specs.items()}
            outputs = {k: (s.dtype.name, s.shape.as_list()) for k, s in fn.structured_outputs.items()}
            out[name] = _signature_def(inputs, outputs)
        return out

    def predict(self, request) -> dict:
        from kerasgen.export.savedmodel import serve_rest

        return serve_rest(self.loaded, request)


class OnnxBackend:
    """An ONNX export (`NAME.onnx` with its model card) served with onnxruntime: `serving_default`
    and `generate` (noise [, labels] -> samples), `sample` (num_samples, seed: noise drawn with
    `kerasgen.noise.draw`, the stream of `OnnxGenerator.sample`) and, for flows, `log_prob`."""

    version = 1

    def __init__(self, path):
        from kerasgen.export.runtime import OnnxGenerator

        self.generator = OnnxGenerator(path)
        self.card = self.generator.card
        self.folder = path
        if self.generator.directions:
            raise ServingError(f"{path} is a translation export: serve its SavedModel (saved_models/NAME), whose "
                               "translate signature answers TF Serving's REST API")

    def _inputs(self) -> dict:
        noise = self.generator.noise
        inputs = {noise["name"]: (noise["dtype"], [None, *noise["shape"]])}
        if self.generator.num_classes:
            inputs["labels"] = ("int32", [None])
        return inputs

    def signatures(self) -> dict:
        samples = {"samples": ("float32", [None, *self.generator.data_shape])}
        generate = _signature_def(self._inputs(), samples)
        out = {"serving_default": generate, "generate": generate,
               "sample": _signature_def({"num_samples": ("int32", []), "seed": ("int64", [])}, samples)}
        if self.generator._log_prob_path is not None:
            x = {"x": ("float32", [None, *self.generator.data_shape])}
            if self.generator.num_classes:
                x["labels"] = ("int32", [None])
            out["log_prob"] = _signature_def(x, {"log_prob": ("float32", [None])})
        return out

    def predict(self, request) -> dict:
        if not isinstance(request, dict):
            return {"error": "the request body must be a JSON object"}
        name = request.get("signature_name", "serving_default")
        signatures = self.signatures()
        if name not in signatures:
            return {"error": f"Serving signature name: \"{name}\" not found in signature def"}
        try:
            feeds = request_feeds(request, signatures[name]["inputs"])
            arrays = {}
            for key, value in feeds.items():
                info = signatures[name]["inputs"][key]
                dtype = {"DT_FLOAT": np.float32, "DT_INT32": np.int32, "DT_INT64": np.int64}[info["dtype"]]
                try:
                    arrays[key] = np.asarray(value, dtype=dtype)
                except (TypeError, ValueError) as err:
                    return {"error": f"bad input: {' '.join(str(err).split())[:300]}"}
            labels = arrays.get("labels")
            if name == "sample":
                n, seed = arrays["num_samples"], arrays["seed"]
                if n.ndim or seed.ndim:
                    return {"error": "num_samples and seed are scalars (use the columnar 'inputs' form)"}
                outputs = {"samples": self.generator.sample(int(n), seed=int(seed))}
            elif name == "log_prob":
                outputs = {"log_prob": self.generator.log_prob(arrays["x"], labels)}
            else:
                noise = arrays[self.generator.noise["name"]]
                outputs = {"samples": self.generator.generate(noise, labels)}
        except ValueError as err:
            return {"error": str(err)}
        return predict_response(outputs, columnar="inputs" in request)


def _version_folder(path):
    """(folder, version) of a SavedModel version folder, or of a model folder's highest version."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        base = os.path.basename(os.path.normpath(path))
        return path, int(base) if base.isdigit() else 1
    found = sorted(int(d) for d in os.listdir(path) if d.isdigit()
                   and os.path.isfile(os.path.join(path, d, "saved_model.pb")))
    if not found:
        return None, None
    return os.path.join(path, str(found[-1])), found[-1]


def default_name(path) -> str:
    """The model name a path is served under: the ONNX file's stem, the SavedModel's model folder
    (`saved_models/<name>/<version>`), or the run folder's name."""
    path = os.path.normpath(path)
    if path.endswith(".onnx"):
        return os.path.basename(path)[:-5]
    base = os.path.basename(path)
    if base.isdigit() and os.path.isfile(os.path.join(path, "saved_model.pb")):
        return os.path.basename(os.path.dirname(path))
    return base


def open_backend(path, workdir=None):
    """The backend for `path`: an `.onnx` file, a SavedModel (a version folder or the model folder
    holding versions: the highest is served, as TF Serving does), or a run folder of `kerasgen
    train` (its model.keras is exported, verified, to a SavedModel under `workdir` or a temporary
    folder). Raises `ServingError` naming what was found instead."""
    path = str(path)
    if path.endswith(".onnx"):
        if not os.path.isfile(path):
            raise ServingError(f"{path} not found")
        try:
            return OnnxBackend(path)
        except FileNotFoundError as err:
            raise ServingError(str(err)) from None
    if not os.path.isdir(path):
        raise ServingError(f"{path} is neither an .onnx file nor a folder")
    folder, version = _version_folder(path)
    if folder is not None:
        if not os.path.isfile(os.path.join(folder, "model_card.json")):
            raise ServingError(f"{folder} has no model_card.json: serve a SavedModel written by kerasgen export")
        return SavedModelBackend(folder, version)
    if os.path.isfile(os.path.join(path, "model.keras")):
        from kerasgen import export, models

        model = models.load(os.path.join(path, "model.keras"))
        workdir = workdir or tempfile.mkdtemp(prefix="kerasgen-serve-")
        folder = export.saved_model(model, os.path.join(workdir, default_name(path)))
        backend = SavedModelBackend(folder, 1)
        backend.cleanup = lambda: shutil.rmtree(workdir, ignore_errors=True)
        return backend
    raise ServingError(f"{path} holds no SavedModel version (a folder with saved_model.pb), no .onnx and no "
                       f"model.keras: pass saved_models/NAME, export/NAME.onnx or a run folder")
