"""`Checkpoint`: the full training state saved atomically during `fit`, for a resume that loses at
most the work since the last checkpoint.

A checkpoint is two files in one folder:
- `ckpt-<epochs done:05d>-<batches of the next epoch done:06d>.keras`: the model with every
  optimiser's state and the noise generator's state (a `.keras` file, so `kg.models.load` reads it);
- the same name with `.json`: the position (`epoch`, `batch`, `steps_per_epoch`), the per-epoch
  history so far, the epoch's running metric states (for a checkpoint inside an epoch), the run's
  target epoch count and the kerasgen version.

Each file is written to a temporary name in the same folder, flushed to disk and renamed into
place, the `.keras` file first: a checkpoint whose `.json` exists is complete, whatever killed the
process and when. The newest `keep` complete checkpoints are kept.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time

import keras
import numpy as np

from kerasgen import io

_NAME = re.compile(r"^ckpt-(\d{5,})-(\d{6,})\.json$")


def checkpoint_name(epoch: int, batch: int) -> str:
    """The file stem of the checkpoint after `epoch` epochs and `batch` batches of the next."""
    return f"ckpt-{epoch:05d}-{batch:06d}"


def complete_checkpoints(folder: str) -> list[tuple[int, int, str]]:
    """[(epoch, batch, stem)] of the complete checkpoints in `folder`, oldest first."""
    if not os.path.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        match = _NAME.match(name)
        stem = name[: -len(".json")]
        if match and os.path.isfile(os.path.join(folder, stem + ".keras")):
            found.append((int(match.group(1)), int(match.group(2)), stem))
    return sorted(found)


def latest(folder: str):
    """(path of the newest complete checkpoint's `.keras` file, its metadata dict), or None."""
    found = complete_checkpoints(folder)
    if not found:
        return None
    stem = os.path.join(folder, found[-1][2])
    with open(stem + ".json") as f:
        return stem + ".keras", json.load(f)


def resume(folder: str):
    """(model, metadata) from the newest complete checkpoint in `folder`, or (None, None).

    The metadata hold `epoch` and `batch` (where to start: `kerasgen.data.stream(...,
    start_epoch=epoch, skip_batches=batch)` and `fit(..., initial_epoch=epoch)`), `history` (for
    `Checkpoint(history=...)`), `metric_states`, `steps_per_epoch` and `target_epochs`.
    """
    from kerasgen import models

    found = latest(folder)
    if found is None:
        return None, None
    path, meta = found
    return models.load(path), meta


class Checkpoint(keras.callbacks.Callback):
    """Saves the training state every epoch, every `every_steps` steps and/or every `every_minutes`
    minutes, and on request (`request_stop`, e.g. from a SIGINT handler) at the next step boundary,
    after which training stops.

    Example (a run that can be killed and resumed exactly; `kerasgen train` does this for you):
        >>> ds, steps, info = kg.data.stream("digits", batch_size=64, seed=0)
        >>> model, meta = resume("ckpt")          # (None, None) the first time
        >>> model = model or kg.models.get("dcgan", data=info); start = meta["epoch"] if meta else 0
        >>> ds, _, _ = kg.data.stream("digits", batch_size=64, seed=0, start_epoch=start)
        >>> if not meta: model.compile()
        >>> model.fit(ds, steps_per_epoch=steps, initial_epoch=start, epochs=100,
        ...           callbacks=[Checkpoint("ckpt", history=meta and meta["history"], steps_per_epoch=steps)])

    Only finite models are saved (`GenerativeModel.save` refuses NaN or infinite weights), so a run
    whose loss diverged keeps its last good checkpoint. With `steps_per_execution=k` the step
    boundaries a callback sees are every k-th step.

    Args:
        folder: where the checkpoints go (created when missing).
        every_epoch: save at the end of every epoch.
        every_steps: also save every this many training steps (None: no step checkpoints).
        every_minutes: also save when this many minutes passed since the last save.
        keep: how many complete checkpoints to keep (>= 1), newest first.
        history: {metric: [per-epoch values]} of the epochs before this `fit` (a resumed run).
        steps_per_epoch: steps in a full epoch; needed for checkpoints inside an epoch (the data
            position is saved with them).
        start_batch: batches of the first epoch done before this `fit` (a run resumed inside an
            epoch, whose first `fit` runs the rest of that epoch only).
        metric_states: the running metric states saved with that checkpoint, restored at the start
            of the first epoch so that its reported means cover the whole epoch.
        target_epochs: the run's total epoch count, recorded for `--resume`.
    """

    def __init__(self, folder, every_epoch=True, every_steps=None, every_minutes=None, keep=2, history=None,
                 steps_per_epoch=None, start_batch=0, metric_states=None, target_epochs=None):
        super().__init__()
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        if every_steps is not None and every_steps < 1:
            raise ValueError(f"every_steps must be >= 1, got {every_steps}")
        if every_minutes is not None and every_minutes <= 0:
            raise ValueError(f"every_minutes must be > 0, got {every_minutes}")
        self.folder = os.fspath(folder)
        self.every_epoch, self.every_steps, self.every_minutes, self.keep = every_epoch, every_steps, every_minutes, keep
        self.history = {k: list(v) for k, v in (history or {}).items()}
        self.steps_per_epoch = steps_per_epoch
        self.start_batch = int(start_batch)
        self.metric_states = metric_states
        self.target_epochs = target_epochs
        self.stop_requested = None  # the reason a stop was requested, e.g. "SIGINT"
        self.stopped_at = None  # (epoch, batch) of the checkpoint written for a requested stop
        self.saved: list[str] = []
        self._epoch = 0
        self._batch = 0
        self._steps_since_save = 0
        self._last_save = time.monotonic()

    # ---- requests ------------------------------------------------------------------
    def request_stop(self, reason="a stop request"):
        """Asks for a checkpoint at the next step boundary and the end of training. Safe to call
        from a signal handler."""
        self.stop_requested = reason

    def signal_handler(self, signum, frame):  # noqa: ARG002 - the signal.signal signature
        """A `signal.signal` handler: the first signal requests a checkpoint and a stop; a second
        one of the same kind is handled as Python's default (KeyboardInterrupt for SIGINT)."""
        self.request_stop(signal.Signals(signum).name)
        signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)

    # ---- Keras hooks ---------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._last_save = time.monotonic()
        self._first_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        first = self._first_epoch is None
        if first:
            self._first_epoch = epoch
        self._epoch = epoch
        self._batch = self.start_batch if first else 0
        if first and self.start_batch and self.metric_states:
            set_metric_states(self.model, self.metric_states)

    def on_train_batch_end(self, batch, logs=None):
        done = batch + 1 + (self.start_batch if self._epoch == self._first_epoch else 0)
        self._steps_since_save += done - self._batch
        self._batch = done
        due = self.stop_requested is not None
        due |= self.every_steps is not None and self._steps_since_save >= self.every_steps
        due |= self.every_minutes is not None and time.monotonic() - self._last_save >= 60 * self.every_minutes
        if not due or not _finite(logs):
            return  # nothing due, or a diverged state that must not replace a good checkpoint
        at_epoch_end = self.steps_per_epoch is not None and done >= self.steps_per_epoch
        if self.stop_requested is not None:
            self.stopped_at = (self._epoch + 1, 0) if at_epoch_end else (self._epoch, done)
            self.model.stop_training = True
        if not at_epoch_end and (self.steps_per_epoch is not None or self.stop_requested is not None):
            self.save(self._epoch, done, metric_states=metric_states(self.model))
        # at an epoch's end the epoch-end checkpoint follows at once (Keras calls on_epoch_end next)

    def on_epoch_end(self, epoch, logs=None):
        if self.stopped_at is not None and self.stopped_at[1]:
            return  # Keras ends a stopped epoch with on_epoch_end too; this one is not finished
        if not _finite(logs):
            return
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(np.mean(value)))
        if self.every_epoch or self.stop_requested is not None:
            self.save(epoch + 1, 0)

    # ---- writing -------------------------------------------------------------------------
    def save(self, epoch: int, batch: int, metric_states=None) -> str:
        """Writes the checkpoint after `epoch` epochs and `batch` batches of the next; returns the
        `.keras` path. Prunes all but the newest `keep`."""
        stem = os.path.join(self.folder, checkpoint_name(epoch, batch))
        io.save_model(self.model, stem + ".keras")
        meta = {"epoch": epoch, "batch": batch, "steps_per_epoch": self.steps_per_epoch,
                "target_epochs": self.target_epochs, "history": self.history,
                "metric_states": metric_states, "kerasgen_version": _version(), "time": time.time()}
        io.write_json(meta, stem + ".json")
        self.saved.append(stem + ".keras")
        self._steps_since_save = 0
        self._last_save = time.monotonic()
        self.prune()
        return stem + ".keras"

    def prune(self):
        """Deletes all but the newest `keep` complete checkpoints, and leftovers of interrupted writes."""
        found = complete_checkpoints(self.folder)
        for _, _, stem in found[: -self.keep]:
            for ext in (".json", ".keras"):  # the .json first: never a .json without its model
                path = os.path.join(self.folder, stem + ext)
                if os.path.exists(path):
                    os.remove(path)
        for name in os.listdir(self.folder):
            if ".partial" in name:
                os.remove(os.path.join(self.folder, name))


def _finite(logs) -> bool:
    return all(np.all(np.isfinite(np.asarray(v, dtype=np.float64))) for v in (logs or {}).values())


def metric_states(model) -> dict:
    """{metric name: [variable values as lists]} of the model's running metrics."""
    return {m.name: [np.asarray(keras.ops.convert_to_numpy(v)).tolist() for v in m.variables] for m in model.metrics}


def set_metric_states(model, states: dict) -> None:
    """Restores `metric_states` output into the model's metrics (by name)."""
    for metric in model.metrics:
        for variable, value in zip(metric.variables, states.get(metric.name, [])):
            variable.assign(np.asarray(value, dtype=variable.dtype))


def _version() -> str:
    from kerasgen import __version__

    return __version__
