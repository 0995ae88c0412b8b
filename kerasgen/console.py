"""Quiet command-line output: the `kerasgen` commands print their own lines, a progress bar and
errors, not TensorFlow's start-up chatter.

TensorFlow 2.21 logs from C++ through absl before Python can configure anything: the "All log
messages before absl::InitializeLog()" banner, `cudart_stub.cc ... Could not find cuda drivers`,
`cuda_platform.cc ... failed call to cuInit` on machines without a GPU, grappler's `remapper
failed` under bfloat16, oneDNN notices. `TF_CPP_MIN_LOG_LEVEL` does not stop these lines, so
`quiet()` runs before TensorFlow is imported and puts a filter on the process's standard-error
file descriptor: lines in the C++ log format at INFO or WARNING level, and the ERROR lines of the
known harmless sources, are dropped; every other byte (Python tracebacks, kerasgen's own messages,
real TensorFlow errors) passes through unchanged. Python-side, it silences TensorFlow's and
tf2onnx's loggers below ERROR, TensorFlow's deprecation notices and Keras' warning that `shuffle`
is ignored for a `tf.data` dataset (kerasgen's datasets are shuffled by `kerasgen.data.stream`).

Library users are not affected: only the command line calls `quiet()`; `kerasgen ... --verbose`
skips it.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import sys
import threading
import warnings

# "I0000 00:00:1796172577.533781   18813 cudart_stub.cc:31] message" (absl/glog format)
_NATIVE_LINE = re.compile(rb"^([IWEF])\d{4} [\d:.]+\s+\d+ ([\w.\-]+):\d+\] (.*)$")
_HARMLESS_ERROR_SOURCES = (b"cuda_platform.cc", b"cuda_executor.cc", b"cuda_diagnostics.cc", b"cudart_stub.cc",
                           b"cuda_dnn.cc", b"cuda_fft.cc", b"cuda_blas.cc", b"meta_optimizer.cc")
_BANNER = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_PYTHON_WARNINGS = (r".*`shuffle=True` was passed.*", r".*shuffle=True.*ignored.*")


def is_noise(line: bytes) -> bool:
    """Whether one standard-error line (without its newline) is TensorFlow start-up noise."""
    line = line.rstrip(b"\r")
    if line.startswith(_BANNER):
        return True
    match = _NATIVE_LINE.match(line)
    if match is None:
        return False
    level, source, _ = match.groups()
    return level in (b"I", b"W") or (level == b"E" and source in _HARMLESS_ERROR_SOURCES)


class _StderrFilter:
    """Replaces file descriptor 2 with a pipe; a thread forwards the lines that are not noise to
    the original standard error. `close()` (run at exit) restores descriptor 2 and drains the pipe."""

    def __init__(self):
        sys.stderr.flush()
        self.original = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self.thread = threading.Thread(target=self._pump, args=(read_end,), name="kerasgen-stderr", daemon=True)
        self.thread.start()
        atexit.register(self.close)

    def _pump(self, read_end):
        pending = b""
        while True:
            try:
                chunk = os.read(read_end, 65536)
            except OSError:
                break
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not is_noise(line))
            if kept:
                os.write(self.original, kept)
        if pending and not is_noise(pending):
            os.write(self.original, pending)
        os.close(read_end)

    def close(self):
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self.original, 2)  # closes the pipe's only write end: the thread reads to the end and stops
        self.thread.join(timeout=5)


_FILTER: _StderrFilter | None = None


def quiet() -> None:
    """Silences TensorFlow's start-up logs and known harmless warnings for this process (see the
    module docstring). Call before TensorFlow is imported; calling again does nothing."""
    global _FILTER
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in ("tensorflow", "tf2onnx", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for message in _PYTHON_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    if _FILTER is None:
        try:
            _FILTER = _StderrFilter()
        except OSError:  # no usable descriptor 2 (a closed stderr): nothing to filter
            _FILTER = None
