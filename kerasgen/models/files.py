"""`load`: a saved kerasgen model back, or one clear error saying what is wrong with the file."""

from __future__ import annotations

import json
import os
import zipfile

import keras

from kerasgen.io import nonfinite_variables


class ModelFileError(ValueError):
    """A `.keras` file that is not a loadable kerasgen model (truncated, corrupted, foreign, unsafe)."""


def _inspect(path: str) -> dict:
    """The file's top-level config, after checking that it is a complete `.keras` archive."""
    if not zipfile.is_zipfile(path):
        size = os.path.getsize(path)
        raise ModelFileError(f"{path} is not a .keras file ({size} bytes, not a zip archive): truncated by an "
                             f"interrupted copy or save, or another kind of file")
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()  # reads every member and checks its CRC-32
            if damaged is not None:
                raise ModelFileError(f"{path} is corrupted: its member {damaged} fails its checksum")
            names = set(archive.namelist())
            if not {"config.json", "model.weights.h5"} <= names:
                raise ModelFileError(f"{path} is a zip archive but not a .keras model (it holds "
                                     f"{', '.join(sorted(names)[:5]) or 'nothing'})")
            return json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, EOFError, OSError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{path} is corrupted: {err}") from None


def load(path: str, safe_mode: bool = True):
    """Loads a model saved with `model.save(path)` (or `kerasgen.io.save_model`), optimiser state
    included.

    Args:
        path: the `.keras` file.
        safe_mode: Keras' safe mode: refuse to deserialise Python code stored in the file (a
            `Lambda` layer's function). Pass False only for files you trust.

    Raises:
        FileNotFoundError: `path` does not exist.
        ModelFileError (a ValueError), one line naming the problem: a truncated or corrupted file,
            a Keras model that is not a kerasgen model, a class this version of kerasgen does not
            have, Python code refused by safe mode, or NaN or infinite weights.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no saved model at {path}")
    config = _inspect(path)
    module = str(config.get("module") or "")
    name = config.get("registered_name") or config.get("class_name")
    if not module.startswith("kerasgen"):
        raise ModelFileError(f"{path} holds a {config.get('class_name')} from {module or 'an unknown module'}, not a "
                             f"kerasgen model; load it with keras.saving.load_model")
    try:
        model = keras.saving.load_model(path, safe_mode=safe_mode)
    except Exception as err:  # Keras raises ValueError/TypeError/KeyError with multi-line messages
        text = " ".join(str(err).split())
        if "safe_mode" in text:
            raise ModelFileError(f"{path} contains Python code (a Lambda layer) that Keras' safe mode refuses to "
                                 f"load; if you trust the file, pass safe_mode=False (CLI: --unsafe)") from None
        raise ModelFileError(f"{path} holds a {name} that this kerasgen could not rebuild (saved by another "
                             f"version?): {text[:300]}") from None
    from kerasgen.models.base import GenerativeModel

    if not isinstance(model, GenerativeModel):
        raise ModelFileError(f"{path} holds a {type(model).__name__}, not a kerasgen model")
    bad = nonfinite_variables(model)
    if bad:
        raise ModelFileError(f"{path} holds NaN or infinite weights ({', '.join(bad[:3])}): the run that wrote it "
                             f"diverged or the file was altered")
    return model
