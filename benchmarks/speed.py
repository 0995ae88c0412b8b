"""Training speed of kerasgen against hand-written Keras 3 train steps with the same networks.

For each model, kerasgen's preset (compiled with its defaults) and the hand-written baseline of
`benchmarks/handwritten.py` (clones of the preset's networks, the preset's optimiser settings,
Keras' default compile) train on the same tf.data pipeline of 28x28x1 images (MNIST when the
file is there, else uniform noise; 8-bit levels) at the same batch size. After a warm-up fit
each (tracing and compiling), they alternate `--rounds` times, `--steps` steps per fit, in one
process; the table gives median steps/second and the ratio kerasgen / hand-written.

Peak memory (RSS of a fresh process that builds and trains one implementation for the warm-up and
one timed fit, and how much of it came after the imports; plus GPU peak memory when there is a
GPU) is measured in child processes.

    python benchmarks/speed.py      # dcgan, dcgan+reuse (reuse_fakes=True), wgan-gp, conv-vae, realnvp, glow
    python benchmarks/speed.py --models dcgan --steps 100 --rounds 7
    python benchmarks/speed.py --precision mixed_bfloat16   # both in bfloat16 (fast on AMX CPUs)
    python benchmarks/speed.py --precision auto             # kerasgen's choice against Keras' float32
    python benchmarks/speed.py --models dcgan --image-size 64 --precision mixed_float16   # GPU
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kerasgen as kg  # noqa: E402
from common import DEFAULT_MNIST, machine, print_table  # noqa: E402
from handwritten import HandFlow, HandGAN, HandVAE, HandWGANGP  # noqa: E402

MODELS = ["dcgan", "dcgan+reuse", "wgan-gp", "conv-vae", "realnvp", "glow"]
VARIANTS = {"reuse": {"reuse_fakes": True}}  # "preset+variant": preset options the defaults leave off
LEVELS = 256


def images(n, size, seed=0):
    """(n, size, size, 1) float32 8-bit grey levels in [-1, 1]: MNIST if available, else noise."""
    if os.path.isfile(DEFAULT_MNIST) and size == 28:
        x = np.load(DEFAULT_MNIST)["x"][:n].astype(np.float32)[..., None]
    else:
        x = np.random.default_rng(seed).integers(0, 256, (n, size, size, 1)).astype(np.float32)
    return x / 127.5 - 1.0


def pipeline(x, batch_size):
    """The input pipeline both implementations read: cached, shuffled, batched, repeated, prefetched."""
    return (tf.data.Dataset.from_tensor_slices(x).cache().shuffle(1024).batch(batch_size, drop_remainder=True)
            .repeat().prefetch(tf.data.AUTOTUNE))


def optimizer(config):
    return keras.optimizers.deserialize(config)


def kerasgen_model(name, shape, compile_kwargs):
    name, _, variant = name.partition("+")
    info = kg.data.DataInfo("mnist", tuple(shape), None, is_image=True, num_levels=LEVELS)
    model = kg.models.get(name, data=info, seed=0, **VARIANTS.get(variant, {}))
    model.compile(**compile_kwargs)
    return model


def hand_model(name, shape):
    """The hand-written baseline with fresh clones of the preset's networks and its optimisers."""
    reference = kerasgen_model(name, shape, {})
    family = kg.registry.get_preset(name.partition("+")[0]).family
    if family == "adversarial":
        cls = HandWGANGP if reference.penalty == "gradient" else HandGAN
        hand = cls(keras.models.clone_model(reference.generator), keras.models.clone_model(reference.discriminator),
                   reference.latent_dim)
        hand.compile(d_optimizer=optimizer(reference.d_optimizer_config),
                     g_optimizer=optimizer(reference.g_optimizer_config))
    elif family == "variational":
        hand = HandVAE(keras.models.clone_model(reference.encoder), keras.models.clone_model(reference.decoder),
                       reference.latent_dim)
        hand.compile(optimizer=optimizer(reference.optimizer_config))
    else:  # a flow: the preset's own bijector chain (fresh weights), trained by a hand-written step
        def dequantize(x, seed_generator):
            k = tf.round((x + 1.0) / 2.0 * (LEVELS - 1))
            return (k + keras.random.uniform(tf.shape(x), seed=seed_generator)) / LEVELS

        hand = HandFlow(lambda: reference.distribution(None), dequantize, reference.flow_steps)
        hand.compile(optimizer=optimizer(reference.optimizer_config))
    return hand


def policies(name, precision):
    """The dtype policy each implementation trains under: `precision` for both, or for "auto" what
    `kerasgen.precision` picks for the model's family against the float32 a hand-written step gets
    from Keras' defaults."""
    if precision != "auto":
        return {"kerasgen": precision, "hand-written": precision}
    family = kg.registry.get_preset(name.partition("+")[0]).family
    return {"kerasgen": kg.precision.fast_policy(family), "hand-written": "float32"}


def build(impl, name, shape, compile_kwargs, precision):
    """One implementation of model `name`, built under its policy (see `policies`)."""
    keras.mixed_precision.set_global_policy(policies(name, precision)[impl])
    return kerasgen_model(name, shape, compile_kwargs) if impl == "kerasgen" else hand_model(name, shape)


class StepTimer(keras.callbacks.Callback):
    """Steps per second between the first and the last batch end of a fit (leaves out the
    iterator's start-up and the first step)."""

    def on_train_begin(self, logs=None):
        self.marks = []

    def on_train_batch_end(self, batch, logs=None):
        self.marks.append((batch, time.perf_counter()))

    def rate(self):
        (b0, t0), (b1, t1) = self.marks[0], self.marks[-1]
        return (b1 - b0) / (t1 - t0)


def timed_fit(model, ds, steps):
    timer = StepTimer()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[timer])
    return timer.rate()


def compare(name, args):
    """Median steps/s of both implementations, alternating after a warm-up."""
    shape = (args.image_size, args.image_size, 1)
    ds = pipeline(images(args.n_images, args.image_size), args.batch_size)
    models = {impl: build(impl, name, shape, compile_kwargs(args), args.precision)
              for impl in ("kerasgen", "hand-written")}
    for model in models.values():
        timed_fit(model, ds, args.steps)  # warm-up: trace and compile
    rates = {impl: [] for impl in models}
    for _ in range(args.rounds):
        for impl, model in models.items():
            rates[impl].append(timed_fit(model, ds, args.steps))
    return {impl: statistics.median(r) for impl, r in rates.items()}


def compile_kwargs(args):
    out = {}
    if args.jit_compile is not None:
        out["jit_compile"] = args.jit_compile == "true"
    if args.steps_per_execution is not None:
        out["steps_per_execution"] = args.steps_per_execution
    return out


def peak_memory(impl, name, args):
    """Peak RSS (MiB) and GPU peak (MiB or None) of a child process training one implementation."""
    cmd = [sys.executable, __file__, "--memory-of", impl, "--models", name, "--steps", str(args.steps),
           "--batch-size", str(args.batch_size), "--image-size", str(args.image_size), "--precision", args.precision,
           "--n-images", str(args.n_images)]
    if args.jit_compile is not None:
        cmd += ["--jit-compile", args.jit_compile]
    if args.steps_per_execution is not None:
        cmd += ["--steps-per-execution", str(args.steps_per_execution)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def current_rss_mib():
    """This process's resident memory now (Linux), MiB."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def memory_child(args):
    """Builds and trains one implementation (warm-up + one timed fit), prints its peak memory as JSON."""
    name = args.models[0]
    before = current_rss_mib()  # TensorFlow, Keras and kerasgen imported, nothing built
    shape = (args.image_size, args.image_size, 1)
    ds = pipeline(images(args.n_images, args.image_size), args.batch_size)
    model = build(args.memory_of, name, shape, compile_kwargs(args), args.precision)
    timed_fit(model, ds, args.steps)
    timed_fit(model, ds, args.steps)
    gpu = None
    if tf.config.list_physical_devices("GPU"):
        gpu = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rss_mib": peak, "over_import_mib": peak - before, "gpu_mib": gpu}))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="*", default=MODELS)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--image-size", type=int, default=28)
    p.add_argument("--steps", type=int, default=50, help="steps per timed fit")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--n-images", type=int, default=8000)
    p.add_argument("--precision", default="float32", choices=kg.precision.CHOICES,
                   help="policy of both implementations; auto: kerasgen's choice for this machine against "
                        "Keras' default float32 for the hand-written step")
    p.add_argument("--jit-compile", choices=("true", "false"), default=None, help="override kerasgen's default")
    p.add_argument("--steps-per-execution", type=int, default=None, help="override kerasgen's default")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    p.add_argument("--memory-only", action="store_true", help="only the peak-memory child processes")
    p.add_argument("--memory-of", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.memory_of:
        return memory_child(args)
    rows = []
    for name in args.models:
        impls = ("kerasgen", "hand-written")
        memory = {} if args.no_memory else {impl: peak_memory(impl, name, args) for impl in impls}
        if args.memory_only:
            rows.append([name, "", "", "", "", *(f"{memory[i]['rss_mib']:.0f} MiB (+{memory[i]['over_import_mib']:.0f})"
                                             for i in impls)])
            print(f"# {rows[-1]}", flush=True)
            continue
        rate = compare(name, args)
        policy = policies(name, args.precision)
        row = [name, " / ".join(dict.fromkeys(policy.values())), f"{rate['kerasgen']:.1f}",
               f"{rate['hand-written']:.1f}", f"{rate['kerasgen'] / rate['hand-written']:.2f}x"]
        for impl in ("kerasgen", "hand-written"):
            m = memory.get(impl)
            row.append("" if m is None else f"{m['rss_mib']:.0f} MiB (+{m['over_import_mib']:.0f})"
                       + (f" / GPU {m['gpu_mib']:.0f} MiB" if m["gpu_mib"] else ""))
        rows.append(row)
        print(f"# {row}", flush=True)
    gpu = [d.name for d in tf.config.list_physical_devices("GPU")]
    print(f"\nMachine: {machine()}{' + ' + ', '.join(gpu) if gpu else ''}; {args.image_size}x{args.image_size}x1, "
          f"batch {args.batch_size}, {args.precision}; median of {args.rounds} alternating fits of {args.steps} steps "
          f"after a warm-up; kerasgen compile {compile_kwargs(args) or 'defaults'}, hand-written Keras defaults.\n")
    print_table(["model", "precision (kerasgen / hand-written)", "kerasgen steps/s", "hand-written steps/s", "ratio",
                 "kerasgen peak RSS (+ over import)",
                 "hand-written peak RSS (+ over import)"], rows)


if __name__ == "__main__":
    main()
