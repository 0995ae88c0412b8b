"""What kerasgen fetches for a user who names it, and the switch that forbids any network access.

kerasgen downloads three kinds of things, each only when a user asks for it: tensorflow-datasets
data sets (`tfds:<name>` specs, through tfds' own download and preparation), Keras' Inception-v3
weights (`features="inception"`, through Keras' own weight cache), and the Inception graph of the
original TensorFlow FID code (`features="inception-fid"`). All of them are refused when

- `download=False` is passed to the function that would fetch,
- the environment variable `KERASGEN_OFFLINE` is set to 1 (or true/yes/on), or
- the code runs inside `with offline():` (what the CLI's `--offline` does).

A refused or failed fetch raises `Unavailable`: one message naming what was needed, the folder that
was searched, and the command that prepares it on a machine with a network
(`kerasgen download <item> ...`), after which the folder can be copied over. Downloaded weight
files are checked against their published checksums before use (`verify`); a file that fails is
refused with `ChecksumMismatch` and never loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import os

OFFLINE_ENV = "KERASGEN_OFFLINE"
_TRUE = ("1", "true", "yes", "on")
_forced_offline = 0  # depth of nested `offline()` blocks


class Unavailable(FileNotFoundError):
    """Something a user asked for is not on this machine and may not (or could not) be downloaded.

    Attributes:
        what: what was needed, e.g. "tfds data set 'mnist'".
        searched: the folder (or file) that was searched.
        prepare: the command that prepares it on a machine with a network.
    """

    def __init__(self, what: str, searched: str, prepare: str, reason: str):
        self.what, self.searched, self.prepare = what, searched, prepare
        super().__init__(f"{what} is not in {searched} and {reason}. On a machine with a network, run "
                         f"`{prepare}`, then copy what it writes to the same place here")


class ChecksumMismatch(ValueError):
    """A file's digest differs from the published one: corrupted, truncated, or another file."""


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else "no message"


def offline_requested() -> bool:
    """True when `KERASGEN_OFFLINE` is set to a true value or an `offline()` block is active."""
    return _forced_offline > 0 or os.environ.get(OFFLINE_ENV, "").strip().lower() in _TRUE


def allowed(download: bool | None = None) -> bool:
    """Whether a fetch may use the network: `download` is not False and nothing asks for offline."""
    return download is not False and not offline_requested()


def offline_reason(download: bool | None = None) -> str:
    """Why downloads are refused, in the words of the switch that refused them."""
    if download is False:
        return "downloads are off (download=False)"
    if _forced_offline:
        return "downloads are off (--offline)"
    return f"downloads are off ({OFFLINE_ENV}=1)"


@contextlib.contextmanager
def offline():
    """A block in which nothing is downloaded (the CLI's `--offline`)."""
    global _forced_offline
    _forced_offline += 1
    try:
        yield
    finally:
        _forced_offline -= 1


def keras_home() -> str:
    """Keras' folder: $KERAS_HOME, else ~/.keras (read at call time)."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def keras_cache_dir() -> str:
    """The folder where Keras keeps downloaded weights: $KERAS_HOME/models or ~/.keras/models."""
    return os.path.join(keras_home(), "models")


def file_digest(path: str, algorithm: str) -> str:
    """The hex digest of a file ("md5" or "sha256"), read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hash_algorithm(expected: str) -> str:
    """md5 for a 32-digit hex digest (Keras' published weight hashes), sha256 for 64 digits."""
    algorithms = {32: "md5", 64: "sha256"}
    if len(expected) not in algorithms or any(c not in "0123456789abcdef" for c in expected.lower()):
        raise ValueError(f"a checksum is 32 (md5) or 64 (sha256) hex digits, got {expected!r}")
    return algorithms[len(expected)]


def verify(path: str, expected: str | None, what: str, prepare: str | None = None, remove: bool = False) -> str:
    """Returns `path` when its digest equals `expected` (None: not checked).

    Args:
        remove: delete a file that fails (one just downloaded, so that nothing loads it later).

    Raises:
        ChecksumMismatch: naming the file, both digests and how to replace it.
    """
    if expected is None:
        return path
    algorithm = hash_algorithm(expected)
    found = file_digest(path, algorithm)
    if found != expected.lower():
        if remove:
            os.remove(path)
            again = f"it was removed; run `{prepare}` again" if prepare else "it was removed; fetch it again"
        else:
            again = f"delete it and run `{prepare}` again" if prepare else "delete it and fetch it again"
        raise ChecksumMismatch(f"{what} at {path} fails its checksum ({algorithm} {found}, published {expected}): "
                               f"the file is corrupted, truncated or not the published one; {again}")
    return path


def fetch(fname: str, url: str, file_hash: str | None, what: str, prepare: str,
          download: bool | None = None) -> str:
    """A published file in Keras' weight cache (`keras_cache_dir()`), downloaded there when missing.

    A file already in the cache is checked against `file_hash` and used. A missing one is
    downloaded with `keras.utils.get_file` (its progress bar; a cached file that fails the check
    is downloaded again) when `allowed(download)`, and checked again; a download that fails the
    check is removed from the cache.

    Returns:
        The file's path.

    Raises:
        Unavailable: missing and downloads are off, or the download failed (no network).
        ChecksumMismatch: the file (cached, or just downloaded) fails the check.
    """
    cache = keras_cache_dir()
    path = os.path.join(cache, fname)
    if os.path.isfile(path) and not allowed(download):
        return verify(path, file_hash, what, prepare)
    if os.path.isfile(path):
        try:
            return verify(path, file_hash, what, prepare)
        except ChecksumMismatch:
            pass  # fetched again below
    if not allowed(download):
        raise Unavailable(what, path, prepare, offline_reason(download))
    import keras

    try:
        path = keras.utils.get_file(fname, origin=url, file_hash=file_hash, cache_dir=keras_home(),
                                    cache_subdir="models", force_download=os.path.isfile(path))
    except ValueError as err:  # Keras' own check of the downloaded file failed (Keras leaves the file)
        if os.path.isfile(path):
            os.remove(path)
        raise ChecksumMismatch(f"{what} downloaded from {url} fails its checksum ({first_line(err)}); it was "
                               f"removed from {cache}; run `{prepare}` again") from err
    except Exception as err:  # no network, an unreachable host, an HTTP error
        reason = f"downloading it from {url} failed ({type(err).__name__}: {first_line(err)})"
        raise Unavailable(what, path, prepare, reason) from err
    return verify(path, file_hash, what, prepare, remove=True)


__all__ = ["OFFLINE_ENV", "Unavailable", "ChecksumMismatch", "offline", "offline_requested", "allowed",
           "keras_cache_dir", "keras_home", "file_digest", "first_line", "verify", "fetch"]
