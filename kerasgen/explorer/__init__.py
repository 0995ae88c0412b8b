"""`kerasgen serve`: TF Serving's REST API for an exported generator (SavedModel, ONNX or a run
folder) and an explorer page that talks only to that API."""

from kerasgen.explorer.backends import ServingError, default_name, open_backend
from kerasgen.explorer.server import ExplorerServer

__all__ = ["ExplorerServer", "ServingError", "default_name", "open_backend"]
