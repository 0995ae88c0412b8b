"""Sampling latency (batch 1) and throughput (larger batches) of a generator: the Keras call, the
loaded SavedModel signature, and onnxruntime through `OnnxGenerator`, with its default session
and tuned (a sweep over intra-op threads and graph optimisation levels).

Each preset is built for its reference shape (dcgan and conv-vae on 28x28x1 images, realnvp on
28x28x1 images with dequantisation), exported to both formats (verified), then each runtime maps
fixed noise to samples after warm-up; the median of --repeats timed calls is reported.
Untrained weights: speed does not depend on them. Prints one Markdown table.

    python benchmarks/export_latency.py --presets dcgan conv-vae realnvp --batches 1 8 64 256
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

import kerasgen as kg  # noqa: E402
from common import machine, print_table  # noqa: E402

SHAPE = (28, 28, 1)


def median_seconds(fn, repeats, warmup=5):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ort_configs(args):
    """(threads, optimization) pairs to try: 1 thread and every core, basic and full graph optimisation."""
    threads = sorted({1, os.cpu_count() or 1}) if args.threads is None else [args.threads]
    return [(t, o) for t in threads for o in ("basic", "all")]


def run(preset, args, root):
    model = kg.models.get(preset, data_shape=SHAPE, seed=0)
    folder = kg.export.saved_model(model, os.path.join(root, preset))
    files = kg.export.onnx(model, os.path.join(root, f"{preset}.onnx"))
    signature = tf.saved_model.load(folder).signatures["serving_default"]
    default = kg.export.OnnxGenerator(files["generate"])
    tuned = {cfg: kg.export.OnnxGenerator(files["generate"], threads=cfg[0], optimization=cfg[1])
             for cfg in ort_configs(args)}
    name = model.export_noise()["name"]
    rows = []
    for batch in args.batches:
        noise = default.draw_noise(batch, seed=0)
        z = tf.constant(noise)
        times = {
            "keras model(z)": median_seconds(lambda: model(z, training=False).numpy(), args.repeats),
            "SavedModel": median_seconds(lambda: signature(**{name: z})["samples"].numpy(), args.repeats),
            "onnxruntime default": median_seconds(lambda: default.generate(noise), args.repeats),
        }
        sweep = {cfg: median_seconds(lambda g=g: g.generate(noise), args.repeats) for cfg, g in tuned.items()}
        best = min(sweep, key=sweep.get)
        rows.append({"preset": preset, "batch": batch, **times, "onnxruntime tuned": sweep[best], "config": best,
                     "sweep": sweep})
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="+", default=["dcgan", "conv-vae", "realnvp"])
    p.add_argument("--batches", nargs="+", type=int, default=[1, 8, 64, 256])
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--threads", type=int, default=None, help="only this many onnxruntime threads in the sweep")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as root:
        rows = [row for preset in args.presets for row in run(preset, args, root)]
    print(f"\n{machine()}; {SHAPE} images; median of {args.repeats} calls after warm-up. onnxruntime default: its own "
          f"threads and full graph optimisation; tuned: the fastest of {ort_configs(args)} (threads, optimisation).\n")
    runtimes = ["keras model(z)", "SavedModel", "onnxruntime default", "onnxruntime tuned"]

    def cell(r, k):
        return f"{r[k] * 1000:.2f} ms" if r["batch"] == 1 else f"{r['batch'] / r[k]:,.0f} samples/s"

    print_table(["preset", "batch", *runtimes, "tuned config", "tuned vs keras"],
                [[r["preset"], r["batch"], *(cell(r, k) for k in runtimes), f"{r['config'][0]} thr, {r['config'][1]}",
                  f"{r['keras model(z)'] / r['onnxruntime tuned']:.1f}x"] for r in rows])
    print("\nSweep (ms per call):")
    configs = ort_configs(args)
    print_table(["preset", "batch", *(f"{t} thr / {o}" for t, o in configs)],
                [[r["preset"], r["batch"], *(f"{r['sweep'][c] * 1000:.2f}" for c in configs)] for r in rows])


if __name__ == "__main__":
    main()
