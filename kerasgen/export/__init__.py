"""Shipping generators: SavedModels for TF Serving and ONNX graphs for onnxruntime, verified.

    kg.export.saved_model(model, "saved_models/dcgan")   # -> saved_models/dcgan/<version>/
    kg.export.onnx(model, "export/dcgan.onnx")           # + export/dcgan.model_card.json
    gen = kg.export.OnnxGenerator("export/dcgan.onnx")   # numpy + onnxruntime only

`OnnxGenerator` and the REST helpers import without TensorFlow; the exporters load it on use.
"""

from kerasgen.export.runtime import OnnxGenerator
from kerasgen.export.serving import parse_predict_response, predict_request, serving_config

_LAZY = {"saved_model": "savedmodel", "versions": "savedmodel", "serve_rest": "savedmodel",
         "onnx": "onnx_export", "ExportMismatchError": "graph"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"kerasgen.export.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'kerasgen.export' has no attribute {name!r}")


__all__ = ["OnnxGenerator", "saved_model", "onnx", "serving_config", "predict_request", "parse_predict_response",
           "serve_rest", "versions", "ExportMismatchError"]
