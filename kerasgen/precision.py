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
"""

from __future__ import annotations

import functools
import os

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
CHOICES = ("auto", *POLICIES)
_CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@functools.lru_cache(maxsize=1)
def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset:
    """The CPU feature flags the Linux kernel reports (empty where the file does not exist)."""
    if not os.path.isfile(path):
        return frozenset()
    with open(path) as f:
        for line in f:
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    return frozenset()


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


def fast_policy(family: str | None = None, *, gpu_capability="detect", cpu_bfloat16=None) -> str:
    """The dtype policy `"auto"` resolves to for a model family ("adversarial", "variational",
    "flow" or None for any non-flow model) on this machine; `gpu_capability` and `cpu_bfloat16`
    override what is detected (for tests and for planning another machine's run)."""
    if family == "flow":
        return "float32"
    capability = gpu_compute_capability() if gpu_capability == "detect" else gpu_capability
    if capability is not None:
        return "mixed_float16" if tuple(capability) >= (7, 0) else "float32"
    bf16 = cpu_has_native_bfloat16() if cpu_bfloat16 is None else cpu_bfloat16
    return "mixed_bfloat16" if bf16 else "float32"


def resolve(name: str, family: str | None = None) -> str:
    """A policy name from one of `CHOICES`; `"auto"` becomes `fast_policy(family)`."""
    if name not in CHOICES:
        raise ValueError(f"unknown precision {name!r}; choose one of {', '.join(CHOICES)}")
    return fast_policy(family) if name == "auto" else name


def set_policy(name: str = "auto", family: str | None = None) -> str:
    """Sets Keras' global dtype policy (call before building a model) and returns the policy set."""
    import keras

    policy = resolve(name, family)
    keras.mixed_precision.set_global_policy(policy)
    return policy
