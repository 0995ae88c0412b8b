"""`OnnxGenerator`: run an exported generator with numpy and onnxruntime only (no TensorFlow)."""

from __future__ import annotations

import json
import math
import os

import numpy as np

from kerasgen import noise


class OnnxGenerator:
    """An ONNX export of `kerasgen.export.onnx`, loaded with onnxruntime.

    Args:
        path: the generator's `.onnx` file; its `<stem>.model_card.json` must be next to it
            (and `<stem>.log_prob.onnx` for flows).
        threads: onnxruntime intra-op threads (None: onnxruntime's default, one per physical core).
        optimization: onnxruntime graph optimisation level: "disable", "basic", "extended" or "all"
            (the default: constant folding, node fusions and layout optimisations).
        max_batch: the largest batch `generate`, `sample` and `log_prob` accept (a larger one is
            refused with a ValueError before it can exhaust the memory of a serving process).

    Every method checks its inputs (shape, dtype, NaN, labels, batch size) and raises one
    ValueError naming the problem.

    Attributes:
        card: the model card (dict).
    """

    OPTIMIZATION_LEVELS = ("disable", "basic", "extended", "all")

    def __init__(self, path, threads=None, optimization="all", max_batch=4096):
        import onnxruntime as ort

        if optimization not in self.OPTIMIZATION_LEVELS:
            raise ValueError(f"optimization must be one of {', '.join(self.OPTIMIZATION_LEVELS)}, got {optimization!r}")
        if int(max_batch) < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.max_batch = int(max_batch)
        if threads is not None and int(threads) < 1:
            raise ValueError(f"threads must be >= 1 (or None for onnxruntime's default), got {threads}")

        path = str(path)
        stem = path[:-5] if path.endswith(".onnx") else path
        card_path = f"{stem}.model_card.json"
        for needed in (path, card_path):
            if not os.path.isfile(needed):
                raise FileNotFoundError(f"{needed} not found: an ONNX export is the .onnx file and its model card "
                                        "(write both with kerasgen.export.onnx)")
        with open(card_path) as f:
            self.card = json.load(f)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        levels = ort.GraphOptimizationLevel
        options.graph_optimization_level = {"disable": levels.ORT_DISABLE_ALL, "basic": levels.ORT_ENABLE_BASIC,
                                            "extended": levels.ORT_ENABLE_EXTENDED,
                                            "all": levels.ORT_ENABLE_ALL}[optimization]
        self._options, self._ort = options, ort
        self._session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self._log_prob_path = f"{stem}.log_prob.onnx" if "log_prob" in self.card.get("files", {}) else None
        self._log_prob_session = None
        self._translate_sessions = {}
        self._function_sessions = {}
        self._stem = stem
        self.directions = self.card.get("directions") or {}
        self.noise = self.card["noise"] or {}
        self.data_shape = tuple(self.card["data_shape"])
        self.num_classes = (self.card.get("condition") or {}).get("num_classes")

    # ---- inputs ------------------------------------------------------------------------
    def _check_batch(self, n):
        if n > self.max_batch:
            raise ValueError(f"a batch of {n} is larger than max_batch={self.max_batch}; split it")

    def _labels(self, n, labels, required):
        if not self.num_classes:
            if labels is not None:
                raise ValueError("labels were given but this generator is not conditional")
            return None
        if labels is None:
            if required:
                raise ValueError(f"this generator is conditional: pass labels, ints in [0, {self.num_classes - 1}]")
            return (np.arange(n) % self.num_classes).astype(np.int32)
        labels = np.asarray(labels)
        if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be integers of shape ({n},), got {labels.dtype} {labels.shape}")
        if n and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"labels must lie in [0, {self.num_classes - 1}]")
        return labels.astype(np.int32)

    def draw_noise(self, n, seed=None, truncation=None):
        """n noise inputs from the generator's prior, numpy (n, *noise shape): the same draws as the
        Keras model's `sample(n, seed)` makes (`kerasgen.noise.draw`)."""
        return noise.draw(self.noise, n, seed, truncation)

    # ---- running ----------------------------------------------------------------------
    def generate(self, noise, labels=None):
        """Samples (B, *data_shape) from noise (B, *noise shape) [and labels (B,)], numpy."""
        dtype, shape = np.dtype(self.noise["dtype"]), tuple(self.noise["shape"])
        noise = np.asarray(noise)
        if noise.ndim != 1 + len(shape) or noise.shape[1:] != shape:
            raise ValueError(f"{self.noise['name']} must have shape (B, {', '.join(map(str, shape))}), "
                             f"got {noise.shape}")
        if dtype.kind == "f" and noise.dtype.kind not in "fiu" or dtype.kind == "i" and noise.dtype.kind not in "iu":
            raise ValueError(f"{self.noise['name']} must be {dtype.name}, got {noise.dtype}")
        self._check_batch(len(noise))
        if dtype.kind == "f" and not np.isfinite(noise).all():
            raise ValueError(f"{self.noise['name']} contains NaN or infinite values")
        feeds = {self.noise["name"]: noise.astype(dtype)}
        labels = self._labels(len(noise), labels, required=True)
        if labels is not None:
            feeds["labels"] = labels
        return self._session.run(["samples"], feeds)[0]

    def sample(self, n, seed=None, labels=None, truncation=None):
        """n samples with noise from the prior (seeded), numpy (n, *data_shape); labels cycle over the
        classes when None. The same seed gives the Keras model's `sample(n, seed)` samples."""
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self._check_batch(n)
        return self.generate(self.draw_noise(n, seed, truncation), self._labels(n, labels, required=False))

    def _checked_data(self, x) -> np.ndarray:
        """Data-space x (B, *data_shape) as float32, or one ValueError naming what is wrong with it."""
        x = np.asarray(x)
        if x.shape[1:] != self.data_shape or x.ndim != 1 + len(self.data_shape):
            raise ValueError(f"x must have shape (B, {', '.join(map(str, self.data_shape))}), got {x.shape}")
        if x.dtype.kind not in "fiu":
            raise ValueError(f"x must be numeric, got {x.dtype}")
        self._check_batch(len(x))
        x = x.astype(np.float32)
        if not np.isfinite(x).all():
            raise ValueError("x contains NaN or infinite values")
        return x

    def log_prob(self, x, labels=None):
        """Log-density in nats of data-space x (B, *data_shape) under a flow, numpy float32 (B,)."""
        if self._log_prob_path is None:
            raise TypeError("this export has no log-density graph (only flows have one)")
        x = self._checked_data(x)
        if self._log_prob_session is None:
            self._log_prob_session = self._ort.InferenceSession(self._log_prob_path, self._options,
                                                                providers=["CPUExecutionProvider"])
        feeds = {"x": x}
        labels = self._labels(len(x), labels, required=True)
        if labels is not None:
            feeds["labels"] = labels
        return self._log_prob_session.run(["log_prob"], feeds)[0]

    def run_function(self, name, x):
        """Runs an extra graph of the export on data-space x (B, *data_shape): "encode" (BiGAN:
        {"z": (B, latent_dim)}) or "classify" (semi-supervised GAN: {"probabilities": (B, K)}).

        Returns:
            dict of numpy outputs.
        """
        files = self.card.get("files", {})
        if name in ("generate", "log_prob", "translate", "translate_b_to_a") or name not in files:
            extra = sorted(set(files) - {"generate", "log_prob", "translate", "translate_b_to_a"})
            raise ValueError(f"this export has no {name!r} graph; its extra graphs: {', '.join(extra) or 'none'}")
        x = self._checked_data(x)
        if name not in self._function_sessions:
            path = os.path.join(os.path.dirname(self._stem) or ".", files[name])
            self._function_sessions[name] = self._ort.InferenceSession(path, self._options,
                                                                       providers=["CPUExecutionProvider"])
        session = self._function_sessions[name]
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(names, {"x": x})))

    def translate(self, source, direction="a_to_b"):
        """Images of the target domain from source images (B, *source_shape), numpy, with a translation
        export (pix2pix, SRGAN, inpainting, CycleGAN); "b_to_a" runs CycleGAN's other generator.

        Sources are float32 in [-1, 1] (uint8 [0, 255] for a `uint8` export), as the card's
        `directions` state; the output has the same range.
        """
        name = {"a_to_b": "translate", "b_to_a": "translate_b_to_a"}.get(direction)
        if name is None:
            raise ValueError(f"direction must be 'a_to_b' or 'b_to_a', got {direction!r}")
        if not self.directions:
            raise TypeError("this export generates from noise: use sample or generate (translate is for "
                            "translation models)")
        if name not in self.directions:
            raise ValueError(f"this export translates in one direction only (a_to_b), not {direction!r}")
        shape = tuple(self.directions[name]["source_shape"])
        x = np.asarray(source)
        if x.ndim != 1 + len(shape) or x.shape[1:] != shape:
            raise ValueError(f"source must have shape (B, {', '.join(map(str, shape))}), got {x.shape}")
        if x.dtype.kind not in "fiu":
            raise ValueError(f"source must be numeric, got {x.dtype}")
        self._check_batch(len(x))
        uint8 = self.card.get("output_dtype") == "uint8"
        if not uint8 and not np.isfinite(x).all():
            raise ValueError("source contains NaN or infinite values")
        if name == "translate":
            session = self._session
        else:
            if name not in self._translate_sessions:
                self._translate_sessions[name] = self._ort.InferenceSession(
                    f"{self._stem}.b_to_a.onnx", self._options, providers=["CPUExecutionProvider"])
            session = self._translate_sessions[name]
        return session.run(["translated"], {"source": x.astype(np.uint8 if uint8 else np.float32)})[0]

    @property
    def latent_size(self) -> int:
        return math.prod(self.noise["shape"])
