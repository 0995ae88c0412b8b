"""Writing run outputs without ever leaving a half-written file behind."""

from __future__ import annotations

import json
import os


def save_model(model, path: str) -> str:
    """`model.save(path)` through a temporary file renamed into place."""
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(f"model files end in .keras, got {path}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path[: -len(".keras")] + ".partial.keras"
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_json(obj, path: str) -> str:
    """Writes JSON through a temporary file renamed into place."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".partial"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, default=float)
        f.write("\n")
    os.replace(tmp, path)
    return path
