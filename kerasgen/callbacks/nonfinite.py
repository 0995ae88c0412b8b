"""`StopOnNonFinite`: stops training when a reported metric becomes NaN or infinite, naming it."""

from __future__ import annotations

import keras
import numpy as np


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops `fit` at the first step boundary whose logs hold a NaN or infinite value.

    Unlike Keras' `TerminateOnNaN` (which watches `loss` only) it watches every metric a kerasgen
    model reports (`d_loss`, `g_loss`, `kl`, `nll`, ...). Combined with `Checkpoint`, which never
    saves a non-finite state, the run keeps its last good checkpoint.

    Args:
        start_batch: batches of the first epoch done before this `fit` (a run resumed inside an
            epoch), so that positions count from the epoch's start.

    Attributes:
        stopped: None, or {"metric", "value", "epoch" (1-based), "batch" (batches of that epoch done
            when it was seen, 1-based), "steps_per_execution"} once training was stopped. With k steps
            per execution the value appeared in one of the k batches up to `batch`.
    """

    def __init__(self, start_batch=0):
        super().__init__()
        self.start_batch = int(start_batch)
        self.stopped = None
        self._epoch = self._first_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch is None:
            self._first_epoch = epoch
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            value = np.asarray(value, dtype=np.float64)
            if not np.all(np.isfinite(value)):
                offset = self.start_batch if self._epoch == self._first_epoch else 0
                self.stopped = {"metric": name, "value": float(value.ravel()[0]), "epoch": self._epoch + 1,
                                "batch": batch + 1 + offset,
                                "steps_per_execution": int(getattr(self.model, "steps_per_execution", 1) or 1)}
                self.model.stop_training = True
                return

    @property
    def message(self):
        """One line naming the metric, its value and where it happened; None before a stop."""
        if self.stopped is None:
            return None
        s = self.stopped
        where = f"epoch {s['epoch']}, batch {s['batch']}"
        if s["steps_per_execution"] > 1:
            where += f" (or one of the {s['steps_per_execution'] - 1} batches before it)"
        return f"{s['metric']} became {s['value']} at {where}"
