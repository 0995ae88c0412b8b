"""`GenerativeModel`: what every kerasgen algorithm shares.

- noise drawn from a `keras.random.SeedGenerator` held by the model, folded with
  the replica id so each `tf.distribute` replica draws its own noise, and saved
  in `.keras` files so resumed training continues exactly;
- losses reduced over the global batch (`global_mean`);
- optional feature standardisation for vector data, learned from the data on
  the first `fit` and undone in `sample`;
- players: the networks with their own optimisers, declared once (`players`), from which come
  `compile(**optimisers)`, the compile config round trip and exact resume;
- capabilities declared as properties (`likelihood_kind`, `conditional`, `has_encoder`), which the
  CLI, metrics, export and benchmarks read instead of probing methods;
- `trackers` (name -> `keras.metrics.Mean`) reported by `report`.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasgen.io import require_finite_weights
from kerasgen.layers.standardize import Standardize
from kerasgen.models.network_args import data_shape_of, deserialize_network, network_attr  # noqa: F401 - re-exported
from kerasgen.models.optimizers import (  # noqa: F401 - re-exported for algorithms
    DEFAULT_STEPS_PER_EXECUTION,
    SkipNonFinite,
    adam,
    resolve_optimizer,
    set_compile_defaults,
    skipped_steps,
    uses_float16,
)
from kerasgen.models.players import KERAS_OPTIMIZER, Player, compile_players, compiled_optimizers, split_optimizer_kwargs

_SEED_KEY = "seed_generator_state"
_LAYER_SEED_KEY = "layer_seed_generator_state_"
_ADAPT_MAX_EXAMPLES = 200_000


def leading_examples(data, n: int) -> np.ndarray:
    """The examples x of an array (all of them) or of a dataset of x or (x, ...) batches (whole
    batches from the start until at least n examples), as one numpy array."""
    if not isinstance(data, tf.data.Dataset):
        return np.asarray(data)
    parts, count = [], 0
    for batch in data.as_numpy_iterator():
        x = batch[0] if isinstance(batch, tuple) else batch
        parts.append(x)
        count += len(x)
        if count >= n:
            break
    return np.concatenate(parts)


class GenerativeModel(keras.Model):
    """Base class of kerasgen algorithms (subclasses own `train_step`).

    Subclasses set `optimizer_config` (the default of their one optimiser) or override `players`,
    fill `self.trackers` (name -> `keras.metrics.Mean`) and implement `train_step` with
    `unpack_batch` and `report`. They declare their capabilities with the class attributes
    `likelihood_kind` and `has_encoder`.

    Args:
        data_shape: shape of one example.
        standardize: learn feature-wise standardisation of the data (vectors).
        preset: the preset name this model was built from, if any.
        seed: seed of the model's noise generator.
    """

    likelihood_kind = None
    """What the model says about log p(x): "exact" (flows), "bound" (a variational bound, VAE family)
    or None (implicit models such as GANs). Named `likelihood_kind` because the VAE's own
    `likelihood` argument names its decoder distribution."""
    has_encoder = False
    """Whether `encode(x)` maps data to a continuous latent code (`latent.interpolate_encodings`)."""

    def __init__(self, data_shape, standardize=False, preset=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.trackers = {}
        self.data_shape = tuple(int(s) for s in data_shape)
        self.standardize = bool(standardize)
        self.preset = preset
        self.seed = seed
        self.standardizer = Standardize(self.data_shape, name="standardizer") if standardize else None
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")

    # ---- capabilities --------------------------------------------------------------
    @property
    def conditional(self) -> bool:
        """Whether the model takes int labels (B,) in training and sampling (`num_classes` set)."""
        return bool(getattr(self, "num_classes", None))

    @property
    def capabilities(self) -> dict:
        """{"likelihood": likelihood_kind, "conditional": ..., "has_encoder": ...}, JSON-ready."""
        return {"likelihood": self.likelihood_kind, "conditional": self.conditional, "has_encoder": self.has_encoder}

    # ---- players and compile -------------------------------------------------------
    def players(self) -> tuple:
        """The model's `Player`s: by default one, Keras' `optimizer`, on every trainable variable,
        defaulting to `self.optimizer_config`. Multi-network models override this."""
        return (Player(KERAS_OPTIMIZER, lambda: self.trainable_variables, self.optimizer_config, "model"),)

    def compile(self, **kwargs):
        """Sets and builds one optimiser per player, e.g. `compile()` (every default),
        `compile(optimizer="adam")` or, for a GAN, `compile(g_optimizer=..., d_optimizer=...)`.

        Args:
            **kwargs: per player, "auto" (the preset default), an optimiser name, config or
                instance (under mixed_float16 each is wrapped in a `LossScaleOptimizer` that scales
                its own loss); `on_nonfinite`: "error" (default: a NaN or infinite loss goes into
                the reported metrics, for `callbacks.StopOnNonFinite` to stop on) or "skip" (each
                optimiser becomes a `SkipNonFinite`: a step with NaN or infinite gradients changes
                nothing, is counted in its `skipped`, and its losses are left out of the reported
                means); the rest go to `keras.Model.compile` (defaults: `jit_compile=False`,
                `steps_per_execution=DEFAULT_STEPS_PER_EXECUTION` outside tf.distribute strategies).

        Raises:
            ValueError: an optimiser keyword that names none of the model's players, or an
                unknown `on_nonfinite`.
        """
        on_nonfinite = kwargs.pop("on_nonfinite", "error")
        if on_nonfinite not in ("error", "skip"):
            raise ValueError(f"on_nonfinite must be 'error' or 'skip', got {on_nonfinite!r}")
        players = self.players()
        compile_players(self, players, split_optimizer_kwargs(players, kwargs), kwargs,
                        skip_nonfinite=on_nonfinite == "skip")

    @property
    def skips_nonfinite(self) -> bool:
        """Whether the compiled optimisers skip non-finite steps (`compile(on_nonfinite="skip")`)."""
        optimizers = compiled_optimizers(self, self.players()) or {}
        return any(isinstance(opt, SkipNonFinite) for opt in optimizers.values())

    @property
    def skipped_steps(self) -> int:
        """Optimiser steps skipped for NaN or infinite gradients, summed over the players."""
        return skipped_steps((compiled_optimizers(self, self.players()) or {}).values())

    def get_compile_config(self):
        optimizers = compiled_optimizers(self, self.players())
        if optimizers is None:
            return None
        return {name: keras.saving.serialize_keras_object(opt) for name, opt in optimizers.items()}

    def compile_from_config(self, config):
        self.compile(**{name: keras.saving.deserialize_keras_object(opt) for name, opt in config.items()})

    def require_compiled(self):
        """Raises RuntimeError when an optimiser is missing (called by `train_step` while tracing)."""
        if compiled_optimizers(self, self.players()) is None:
            raise RuntimeError("call compile() before fit()")

    # ---- metrics ----------------------------------------------------------------------
    @property
    def metrics(self):
        return list(self.trackers.values())

    def unpack_batch(self, data):
        """(x in model space, int32 labels or None) from a batch, with its shape checked."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self.to_model_space(self.check_data(x)), self.labels_from_batch(y)

    def report(self, terms):
        """Updates the trackers with this replica's mean of each term (Keras averages them across
        replicas); returns every tracker's result."""
        skip = self.skips_nonfinite
        for name, value in terms.items():
            value = tf.reduce_mean(tf.cast(value, tf.float32))
            if skip:  # a skipped step's NaN must not poison the epoch's mean
                finite = tf.math.is_finite(value)
                self.trackers[name].update_state(tf.where(finite, value, 0.0), sample_weight=tf.cast(finite, tf.float32))
            else:
                self.trackers[name].update_state(value)
        return self.metric_results()

    # ---- noise -------------------------------------------------------------
    def step_seeds(self, count: int):
        """`count` stateless seeds (2,) for this step, distinct per replica."""
        seed = tf.cast(self.seed_generator.next(), tf.int64)
        replica_id = tf.distribute.get_replica_context().replica_id_in_sync_group
        seed = tf.random.experimental.stateless_fold_in(seed, tf.cast(replica_id, tf.int64))
        return tf.unstack(tf.random.experimental.stateless_split(seed, num=count))

    @staticmethod
    def global_mean(per_example):
        """Sum of per-example values over this replica / global batch size."""
        return tf.nn.compute_average_loss(tf.cast(per_example, tf.float32))

    # ---- data scale ----------------------------------------------------------
    def to_model_space(self, x):
        """Data space -> the space the networks work in (standardised if asked)."""
        x = ops.cast(x, "float32")
        return self.standardizer(x) if self.standardizer is not None else x

    def to_data_space(self, x):
        """Inverse of `to_model_space`."""
        x = ops.cast(x, "float32")
        return self.standardizer.inverse(x) if self.standardizer is not None else x

    def log_det_to_model_space(self):
        """log |det d(model space)/d(data space)| per example: -sum(log std) when standardising, else 0.

        A density in model space plus this is the density of the data on its own scale.
        """
        if self.standardizer is None:
            return tf.constant(0.0, tf.float32)
        return -tf.reduce_sum(tf.math.log(tf.cast(self.standardizer.std, tf.float32)))

    def adapt(self, data) -> None:
        """Learns the standardisation from data (array or dataset); no-op without one."""
        if self.standardizer is None:
            return
        self.standardizer.adapt(leading_examples(data, _ADAPT_MAX_EXAMPLES))

    def fit(self, x=None, *args, **kwargs):
        """`keras.Model.fit`, after learning the standardisation on first use (from one epoch of
        an endless dataset such as `kerasgen.data.stream`'s: `steps_per_epoch` batches); a
        `tf.data.Dataset` is not reshuffled by Keras (`shuffle=False` unless given), a finite
        one is read through one iterator for the whole call (`one_iterator_per_fit`), and the
        training and validation datasets run without tf.data's autotuning thread unless their
        options say otherwise (`without_autotune_model`)."""
        self._adapt_on_first_fit(x, kwargs)
        if isinstance(x, tf.data.Dataset):
            kwargs.setdefault("shuffle", False)  # a dataset shuffles itself (Keras warns about shuffle=True)
            x = one_iterator_per_fit(without_autotune_model(x), kwargs)
        if isinstance(kwargs.get("validation_data"), tf.data.Dataset):
            kwargs["validation_data"] = without_autotune_model(kwargs["validation_data"])
        self._fit_whole_executions(kwargs.get("steps_per_epoch"))
        return super().fit(x, *args, **kwargs)

    def _adapt_on_first_fit(self, x, fit_kwargs) -> None:
        """`adapt` on `fit`'s data when the standardisation is not learned yet."""
        if self.standardizer is not None and not self.standardizer.is_adapted and x is not None:
            steps = fit_kwargs.get("steps_per_epoch")
            if isinstance(x, tf.data.Dataset) and steps and x.cardinality() == tf.data.INFINITE_CARDINALITY:
                self.adapt(x.take(steps))
            else:
                self.adapt(x)

    def _fit_whole_executions(self, steps_per_epoch) -> None:
        """Keras runs `steps_per_execution` steps at a time even past `steps_per_epoch` (an epoch of 6 steps
        at 4 per execution trains 8, on the next epoch's batches of an endless stream, and a resumed run
        then sees other batches): lower it to the largest count that divides the epoch's steps (118 at 4
        -> 2, 117 -> 3)."""
        per_execution = int(getattr(self, "steps_per_execution", 1) or 1)
        if steps_per_epoch and per_execution > 1 and int(steps_per_epoch) % per_execution:
            self.steps_per_execution = max(k for k in range(1, per_execution) if int(steps_per_epoch) % k == 0)
            self.train_function = None  # traced again with the new count

    def metric_results(self) -> dict:
        """{name: value} of every tracker, as `train_step` returns them. Under
        MultiWorkerMirroredStrategy Keras averages the returned values over their first axis, so
        there each value is a (1,) vector (the logs still hold one number per metric)."""
        results = {m.name: m.result() for m in self.metrics}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            results = {k: tf.reshape(v, (1,)) for k, v in results.items()}
        return results

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Under a tf.distribute strategy Keras first averages a distributed batch with
        # `strategy.reduce`, which fails for (x, y) batches under MultiWorkerMirroredStrategy, and
        # then builds nothing when everything is built. kerasgen models are built by `compile`.
        if all(layer.built for layer in self._flatten_layers()) and getattr(self.optimizer, "built", True):
            return None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def check_data(self, x):
        """Raises a clear error when a batch's example shape is not `data_shape`.

        Dimensions unknown while tracing (a dataset without static shapes), and NaN or infinite
        values, are checked when the step runs: use the returned tensor, which depends on
        those checks.
        """
        message = f"{type(self).__name__} expects examples of shape {self.data_shape}, got {tuple(x.shape[1:])}"
        return checked_batch(x, self.data_shape, message, "the data contain NaN or infinite values")

    # ---- labels (conditional models set `num_classes`) --------------------------------
    def labels_from_batch(self, y):
        """int32 labels (B,) from a batch's targets; None for unconditional models.

        Raises:
            ValueError: the model is conditional and the data has no labels.
        """
        if not getattr(self, "num_classes", None):
            return None
        if y is None:
            raise ValueError("this model is conditional (num_classes set): the data must yield (x, labels)")
        return tf.cast(tf.reshape(y, (-1,)), tf.int32)

    def sample_labels(self, n, labels, required=False):
        """Checked int32 labels (n,); when None, classes cycle 0..num_classes-1 (or, with
        `required`, a conditional model raises).

        Raises:
            ValueError: labels missing where required, labels for an unconditional model, a wrong
                shape or a class out of range.
        """
        num_classes = getattr(self, "num_classes", None)
        if num_classes and labels is None and required:
            raise ValueError("this model is conditional (num_classes set): pass labels")
        if not num_classes:
            if labels is not None:
                raise ValueError("labels were given but this model is not conditional")
            return None
        if labels is None:
            return (np.arange(n) % num_classes).astype(np.int32)
        labels = np.asarray(labels)
        if labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},), got {labels.shape}")
        if n and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"labels must lie in [0, {num_classes - 1}]")
        return labels.astype(np.int32)

    # ---- persistence -----------------------------------------------------------
    def save(self, filepath, *args, **kwargs):
        """`keras.Model.save`, refusing a model with NaN or infinite weights
        (`kerasgen.io.NonFiniteWeightsError`, a ValueError). `kerasgen.io.save_model` also writes
        atomically."""
        require_finite_weights(self)
        return super().save(filepath, *args, **kwargs)

    def _layer_seed_generators(self) -> list:
        """The seed generators of the networks' layers (dropout's masks), in a fixed order. Keras does not
        save their states; the model does, so a resumed run draws the masks an uninterrupted one would."""
        found = []
        for layer in self._flatten_layers(include_self=False):
            found += [g for g in getattr(layer, "_seed_generators", []) if g is not self.seed_generator]
        return found

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[_SEED_KEY] = ops.convert_to_numpy(self.seed_generator.state)
        for i, generator in enumerate(self._layer_seed_generators()):
            store[f"{_LAYER_SEED_KEY}{i}"] = ops.convert_to_numpy(generator.state)

    def load_own_variables(self, store):
        keys = list(store.keys())
        if _SEED_KEY in keys:
            self.seed_generator.state.assign(np.asarray(store[_SEED_KEY]))
        for i, generator in enumerate(self._layer_seed_generators()):
            if f"{_LAYER_SEED_KEY}{i}" in keys:
                generator.state.assign(np.asarray(store[f"{_LAYER_SEED_KEY}{i}"]))
        rest = {k: store[k] for k in keys if k != _SEED_KEY and not k.startswith(_LAYER_SEED_KEY)}
        super().load_own_variables(rest)

    def get_config(self):
        return {
            "name": self.name,
            "data_shape": list(self.data_shape),
            "standardize": self.standardize,
            "preset": self.preset,
            "seed": self.seed,
        }

    # ---- API every family implements ---------------------------------------------
    def sample(self, n, seed=None, **kwargs):  # pragma: no cover - abstract
        """Returns n samples in data space as a numpy array."""
        raise NotImplementedError

    # ---- export hooks (`kerasgen.export`) ----------------------------------------------
    def export_noise(self) -> dict:
        """The exported generator's noise input: name, per-example shape, dtype, and how a client
        draws it ("normal": independent standard normals)."""
        return {"name": "z", "shape": [int(self.latent_dim)], "dtype": "float32", "kind": "normal"}

    def prior_noise(self, n, seed):
        """In-graph draw of n noise inputs (`export_noise`) from a stateless seed (2,) int32."""
        return tf.random.stateless_normal(tf.stack([n, *self.export_noise()["shape"]]), seed)

    def export_generate(self, noise, labels=None):
        """Data-space samples (B, *data_shape) float32 from noise [and labels (B,) int32]; traceable."""
        return self(noise if labels is None else (noise, labels), training=False)

    def export_functions(self) -> dict:
        """Signatures beyond generation: name -> (fn, {input name: TensorSpec}, output name)."""
        return {}

    onnx_functions: tuple = ()
    """Names of `export_functions()` that `kerasgen.export.onnx` also writes, each as
    `<stem>.<name>.onnx` (a flow's `log_prob` graph is always written)."""

    def export_notes(self) -> dict:
        """Extra model-card entries about how the export differs from the model (none by default)."""
        return {}



def one_iterator_per_fit(dataset, fit_kwargs):
    """A finite dataset of known length as one endless stream for `fit`: `dataset.repeat()`, with
    `fit_kwargs["steps_per_epoch"]` set to its length. Same batches, same epochs.

    Keras makes a new iterator at every epoch of a finite dataset, and the first execution of each
    new iterator waited: medians of 26-46 ms on a quiet 2-core CPU (GAN, flows, VAE), 0.3-1 s in some
    runs and while other processes shared the machine (`benchmarks/epoch_overhead.py`). Keras keeps
    one iterator across the epochs of a `steps_per_epoch` run, where that wait is 11-20 ms. Left as given: endless or unknown-length datasets,
    a given `steps_per_epoch`, and multi-worker training (each worker reads its own shard, whose
    length the global dataset's does not give).

    Args:
        dataset: the `tf.data.Dataset` given to `fit`.
        fit_kwargs: `fit`'s keyword arguments; "steps_per_epoch" is set when the dataset is replaced.

    Returns:
        The dataset to fit on.
    """
    if fit_kwargs.get("steps_per_epoch") is not None:
        return dataset
    if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
        return dataset
    length = int(dataset.cardinality())
    if length <= 0:  # empty (Keras reports it), unknown (-2) or endless (-1)
        return dataset
    fit_kwargs["steps_per_epoch"] = length
    return dataset.repeat()


def without_autotune_model(dataset):
    """`dataset` with `tf.data.Options().autotune.enabled = False`, unless its options already set it.

    With autotuning on, every iterator starts a thread that re-optimises the pipeline at doubling
    intervals (up to a minute), and destroying the iterator can wait for that thread's current interval
    to run out: the wake-up that cancellation sends is missed when it lands before cancellation is
    marked complete. Measured on a 2-core CPU (TensorFlow 2.21): `fit` returned 25-40 s after its last
    epoch in 3 of 4 three-epoch DCGAN runs; iterators created and destroyed every 1-5 s waited up to
    2.2 s in about 1 deletion of 10; with autotuning off, never. Without it, `prefetch(AUTOTUNE)` still
    grows its buffer when the consumer waits, and `map(num_parallel_calls=AUTOTUNE)` keeps its starting
    parallelism (a map of 32 calls of 0.1 s took 1.65 s either way). A dataset whose options set
    `autotune.enabled` (True or False) is returned as given.
    """
    if dataset.options().autotune.enabled is not None:
        return dataset
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def checked_batch(x, shape, message, nonfinite_message):
    """`x` after checking that its examples have `shape` (raises ValueError(`message`) when known
    statically, else when the step runs) and are finite (`nonfinite_message`); use the returned tensor,
    which depends on the checks made while tracing."""
    got = tuple(x.shape[1:])
    if len(got) != len(shape) or any(g is not None and g != s for g, s in zip(got, shape)):
        raise ValueError(message)
    if tf.executing_eagerly():
        if not np.isfinite(ops.convert_to_numpy(x)).all():
            raise ValueError(nonfinite_message)
        return x
    checks = [tf.debugging.assert_all_finite(tf.cast(x, tf.float32), nonfinite_message)]
    if None in got:
        checks.append(tf.debugging.assert_equal(tf.shape(x)[1:], tf.constant(shape, tf.int32), message=message))
    with tf.control_dependencies(checks):
        return tf.identity(x)


SingleOptimizerModel = GenerativeModel  # the one-player case; kept for user subclasses written against it
