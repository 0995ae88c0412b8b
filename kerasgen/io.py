"""Writing run outputs without ever leaving a half-written file behind, and never a model with
NaN or infinite weights.

Every file is written to a temporary name in its own folder, flushed to disk (`fsync`), then
renamed over the target (`os.replace`, atomic on POSIX and Windows) and the folder's entry flushed:
a reader sees the old file or the new one, never a mix, whenever the writer is killed.
"""

from __future__ import annotations

import json
import os

import numpy as np


class NonFiniteWeightsError(ValueError):
    """A model holds NaN or infinite weights (trainable or not: batch-norm moving statistics too)."""


def nonfinite_variables(model) -> list[str]:
    """Paths of the model's variables holding a NaN or infinite value (trainable or not)."""
    from keras import ops

    bad = []
    for variable in model.weights:
        value = np.asarray(ops.convert_to_numpy(ops.convert_to_tensor(variable)))  # (distributed variables too)
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            bad.append(getattr(variable, "path", variable.name))
    return bad


def require_finite_weights(model, action: str = "save") -> None:
    """Raises `NonFiniteWeightsError` naming the first NaN or infinite variables.

    Args:
        model: any Keras model.
        action: what was refused, for the message ("save", "export", ...).
    """
    bad = nonfinite_variables(model)
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise NonFiniteWeightsError(
            f"refusing to {action} a model with NaN or infinite weights: {', '.join(bad[:3])}{more} "
            f"(training diverged; resume from the last good checkpoint with a lower learning rate)")


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # folders cannot be opened on some systems (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_atomically(tmp: str, path: str) -> None:
    """Flushes `tmp` to disk and renames it to `path` (both in one folder), then flushes the folder."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_folder(os.path.dirname(os.path.abspath(path)))


def save_model(model, path: str) -> str:
    """`model.save(path)` through a temporary file in the same folder, flushed and renamed into
    place; refuses (NonFiniteWeightsError) a model with NaN or infinite weights."""
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(f"model files end in .keras, got {path}")
    require_finite_weights(model)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path[: -len(".keras")] + ".partial.keras"
    try:
        model.save(tmp)
        replace_atomically(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_json(obj, path: str) -> str:
    """Writes JSON through a temporary file flushed and renamed into place."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".partial"
    try:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2, default=float)
            f.write("\n")
        replace_atomically(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def check_writable(folder: str) -> None:
    """Raises PermissionError (one line) when files cannot be created in `folder` (created if missing)."""
    folder = os.path.abspath(folder)
    try:
        os.makedirs(folder, exist_ok=True)
        probe = os.path.join(folder, ".kerasgen-write-test")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as err:
        raise PermissionError(f"cannot write to {folder}: {err.strerror or err}") from None
