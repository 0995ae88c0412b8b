"""Choosing the fastest dtype policy the hardware computes natively.

    import kerasgen as kg
    kg.precision.set_policy("auto", family="adversarial")   # before building the model
    model = kg.models.get("dcgan", data_shape=(28, 28, 1))

`"auto"` picks, for the first device TensorFlow will place work on:

- a GPU of compute capability 7.0 or newer (tensor cores): `mixed_float16`;
- a CPU with native bfloat16 arithmetic (x86 AMX-BF16 or AVX512-BF16, which oneDNN uses for
  convolutions and matrix products): `mixed_bfloat16`;
- anything else: `float32`, since emulated reduced precision is slower than float32.

Flows (`family="flow"`) always get `float32` from `"auto"`: their training objective is an exact
log-likelihood summed over every pixel and coupling layer, where an 8-bit mantissa costs accuracy,
and reduced precision bought them at most 10% on the machines measured (`benchmarks/speed.py`).
Mixed policies keep variables, losses and optimiser state in float32 either way.

Where the hardware offers a reduced precision, `"auto"` confirms it by measurement the first time a
family asks on a machine: it times a few training steps of the family's probe model (`PROBES`: DCGAN
on 28x28x1, the conv VAE on 28x28x1, pix2pix on 32x32x1; batch 64) under float32 and under the
candidate, keeps the candidate only when it is at least `MIN_SPEEDUP` (5%) faster, and caches the
decision per machine (CPU model with its family and stepping, core count, GPU), TensorFlow version and bfloat16 kernel-gradient form
(`kerasgen.layers.conv`) in `cache_path()`
(`$KERASGEN_CACHE_DIR`, else `$XDG_CACHE_HOME/kerasgen`, else `~/.cache/kerasgen`). `kerasgen
precision` shows the cached decisions and `kerasgen precision --measure` measures again. With
`KERASGEN_MEASURE_PRECISION=0`, or under multi-worker training (`TF_CONFIG` set: every worker must
take the same policy), nothing is measured and a cached decision or the hardware rule above applies.
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import platform
import time

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
CHOICES = ("auto", *POLICIES)
_CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
MEASURE_ENV = "KERASGEN_MEASURE_PRECISION"
CACHE_ENV = "KERASGEN_CACHE_DIR"
MIN_SPEEDUP = 1.05
# family -> (preset, data shape, source shape or None) of the model timed under each candidate policy
PROBES = {"adversarial": ("dcgan", (28, 28, 1), None), "variational": ("conv-vae", (28, 28, 1), None),
          "translation": ("pix2pix", (32, 32, 1), (32, 32, 1))}
MEASURED_FAMILIES = tuple(PROBES)


@functools.lru_cache(maxsize=None)
def _first_processor(path: str = "/proc/cpuinfo") -> dict:
    """The first processor's block of the Linux kernel's CPU report as {field: value} ({} where the file
    does not exist); the later blocks describe the other cores of the same CPU."""
    fields = {}
    if os.path.isfile(path):
        with open(path) as f:
            for line in f:
                if not line.strip():
                    if fields:
                        break
                    continue
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    return fields


@functools.lru_cache(maxsize=1)
def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset:
    """The CPU feature flags the Linux kernel reports (empty where the file does not exist)."""
    return frozenset(_first_processor(path).get("flags", "").split())


@functools.lru_cache(maxsize=None)
def cpu_identity(path: str = "/proc/cpuinfo") -> str:
    """The CPU's model name and, where Linux reports them, its family, model and stepping, e.g.
    "AMD EPYC (family 25, model 17, stepping 1)".

    Virtual machines often report a bare model name ("AMD EPYC") that several generations share, and
    generations differ in their vector units (one measured a matrix-product peak twice another's under the
    same name), so a decision measured on one must not be taken for another. Without the file (not Linux):
    `platform.processor()` or the architecture."""
    fields = _first_processor(path)
    name = fields.get("model name") or platform.processor() or platform.machine()
    numbers = [f"{label} {fields[key]}" for key, label in (("cpu family", "family"), ("model", "model"),
                                                          ("stepping", "stepping")) if fields.get(key)]
    return f"{name} ({', '.join(numbers)})" if numbers else name


def cpu_has_native_bfloat16(flags=None) -> bool:
    """Whether the CPU multiplies bfloat16 in hardware (AMX-BF16 or AVX512-BF16)."""
    flags = cpu_flags() if flags is None else flags
    return any(flag in flags for flag in _CPU_BF16_FLAGS)


def gpu_compute_capability():
    """(major, minor) of the first visible GPU, or None without one (or where TF does not say)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
    return tuple(capability) if capability else None


def hardware_policy(family: str | None = None, *, gpu_capability="detect", cpu_bfloat16=None) -> str:
    """The policy the hardware rule gives (see the module) for a model family ("adversarial",
    "variational", "translation", "flow" or None for any non-flow model); `gpu_capability` and
    `cpu_bfloat16` override what is detected (for tests and for planning another machine's run)."""
    if family == "flow":
        return "float32"
    capability = gpu_compute_capability() if gpu_capability == "detect" else gpu_capability
    if capability is not None:
        return "mixed_float16" if tuple(capability) >= (7, 0) else "float32"
    bf16 = cpu_has_native_bfloat16() if cpu_bfloat16 is None else cpu_bfloat16
    return "mixed_bfloat16" if bf16 else "float32"


def fast_policy(family: str | None = None, *, gpu_capability="detect", cpu_bfloat16=None, measure=None) -> str:
    """The dtype policy `"auto"` resolves to for a model family on this machine.

    The hardware rule's candidate (`hardware_policy`); when that is a reduced precision, the cached
    measured decision for this machine, TensorFlow version and family, measured now when there is
    none (`measure_family`).

    Args:
        family: "adversarial", "variational", "translation", "flow" or None (measured as "adversarial").
        gpu_capability, cpu_bfloat16: override what is detected; given, nothing is measured or cached
            (they describe another machine).
        measure: False never measures (a cached decision or the hardware rule); None measures unless
            `KERASGEN_MEASURE_PRECISION=0` or `TF_CONFIG` is set; or a callable (family, policies) ->
            {policy: steps per second} used instead of `time_policies` (for tests).
    """
    candidate = hardware_policy(family, gpu_capability=gpu_capability, cpu_bfloat16=cpu_bfloat16)
    if candidate == "float32" or gpu_capability != "detect" or cpu_bfloat16 is not None:
        return candidate
    family = family if family in PROBES else "adversarial"
    cached = cached_decisions().get(decision_key(family))
    if cached is not None and cached.get("policy") in POLICIES:
        return cached["policy"]
    if measure is False or (measure is None and not measuring_allowed()):
        return candidate
    return measure_family(family, candidate, timer=measure if callable(measure) else None)["policy"]


def measuring_allowed() -> bool:
    """False when `KERASGEN_MEASURE_PRECISION` is 0/false/no/off, or under multi-worker training (`TF_CONFIG`)."""
    if os.environ.get("TF_CONFIG"):
        return False
    return os.environ.get(MEASURE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def cache_path() -> str:
    """The file of measured decisions: $KERASGEN_CACHE_DIR, else $XDG_CACHE_HOME/kerasgen, else
    ~/.cache/kerasgen; then precision.json (read at call time)."""
    folder = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "kerasgen")
    return os.path.join(folder, "precision.json")


@functools.lru_cache(maxsize=1)
def machine_description() -> str:
    """What a decision is valid for: the CPU (`cpu_identity`) and its logical cores, and the first GPU when
    there is one."""
    description = f"{cpu_identity()} x{os.cpu_count()}"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        description += f"; GPU {details.get('device_name', 'unknown')} {details.get('compute_capability', '')}"
    return description


def decision_key(family: str) -> str:
    """The cache key of a family's decision on this machine and TensorFlow version, with the bfloat16 kernel
    gradients the probe trains with (`kerasgen.layers.conv.weight_gradient_form`): a decision measured with
    one form (or before there was a choice) is measured again under another."""
    import tensorflow as tf

    from kerasgen.layers.conv import weight_gradient_form

    return (f"{family} | {machine_description()} | TensorFlow {tf.__version__} | "
            f"bfloat16 kernel gradients {weight_gradient_form()}")


def cached_decisions() -> dict:
    """{key: decision} from `cache_path()`; {} when there is none. A decision is a dict with "family",
    "policy", "steps_per_second" ({policy: steps/s}), "probe", "machine", "tensorflow" and
    "measured_at" (UTC, ISO 8601). A file that cannot be read counts as empty (it is rewritten whole
    at the next measurement)."""
    try:
        with open(cache_path()) as f:
            decisions = json.load(f).get("decisions", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return decisions if isinstance(decisions, dict) else {}


def _store(key: str, decision: dict) -> None:
    """Adds one decision to the cache file, written whole and renamed into place (`kerasgen.io.write_json`)."""
    from kerasgen.io import write_json

    write_json({"decisions": {**cached_decisions(), key: decision}}, cache_path())


def measure_family(family: str, candidate: str | None = None, timer=None) -> dict:
    """Times the family's probe under float32 and the hardware's candidate, caches and returns the decision.

    Args:
        family: one of `MEASURED_FAMILIES`.
        candidate: the reduced policy to try (default: the hardware rule's; float32 alone is not timed).
        timer: (family, policies) -> {policy: steps per second}; default `time_policies`.

    Returns:
        The decision stored (see `cached_decisions`): "policy" is the candidate when it ran at least
        `MIN_SPEEDUP` times float32's steps per second, else "float32".
    """
    if family not in PROBES:
        raise ValueError(f"precision is measured for {', '.join(MEASURED_FAMILIES)}; got {family!r}")
    import tensorflow as tf

    candidate = candidate or hardware_policy(family)
    policies = ["float32"] + ([candidate] if candidate != "float32" else [])
    rates = (timer or time_policies)(family, policies)
    best = candidate if candidate != "float32" and rates[candidate] >= MIN_SPEEDUP * rates["float32"] else "float32"
    preset, shape, source = PROBES[family]
    decision = {"family": family, "policy": best, "steps_per_second": {k: round(float(v), 2) for k, v in rates.items()},
                "probe": f"{preset} {'x'.join(map(str, shape))}, batch 64", "machine": machine_description(),
                "tensorflow": tf.__version__,
                "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    _store(decision_key(family), decision)
    return decision


def time_policies(family: str, policies, steps: int = 10, warmup: int = 3, batch_size: int = 64) -> dict:
    """{policy: steps per second} of the family's probe model (`PROBES`), built and trained under each
    policy in turn on random data: one `fit` of `warmup + steps` steps, timed between batch ends
    after the warm-up. Keras' global policy is restored afterwards."""
    import keras
    import numpy as np
    import tensorflow as tf

    import kerasgen as kg

    preset, shape, source = PROBES[family]
    rng = np.random.default_rng(0)
    n = batch_size * (warmup + steps)
    x = rng.uniform(-1, 1, (n, *shape)).astype("float32")
    data = (x,) if source is None else (rng.uniform(-1, 1, (n, *source)).astype("float32"), x)
    dataset = tf.data.Dataset.from_tensor_slices(data if len(data) > 1 else data[0]).batch(batch_size)

    class _Stamps(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            stamps.append(time.perf_counter())

    previous = keras.mixed_precision.global_policy().name
    rates = {}
    try:
        for policy in policies:
            keras.mixed_precision.set_global_policy(policy)
            extra = {} if source is None else {"source_shape": source}
            model = kg.models.get(preset, data_shape=shape, seed=0, **extra)
            model.compile(steps_per_execution=1)
            stamps = []
            model.fit(dataset, epochs=1, verbose=0, callbacks=[_Stamps()])
            rates[policy] = steps / (stamps[-1] - stamps[warmup - 1])
    finally:
        keras.mixed_precision.set_global_policy(previous)
    return rates


def resolve(name: str, family: str | None = None) -> str:
    """A policy name from one of `CHOICES`; `"auto"` becomes `fast_policy(family)`."""
    if name not in CHOICES:
        raise ValueError(f"unknown precision {name!r}; choose one of {', '.join(CHOICES)}")
    return fast_policy(family) if name == "auto" else name


def set_policy(name: str = "auto", family: str | None = None) -> str:
    """Sets Keras' global dtype policy (call before building a model) and returns the policy set.

    `"auto"` may time probe models first (once per family and machine, see the module), which draws
    from the global random generators: call it before `keras.utils.set_random_seed`, as the command
    line does, for runs that repeat exactly."""
    import keras

    policy = resolve(name, family)
    keras.mixed_precision.set_global_policy(policy)
    return policy
