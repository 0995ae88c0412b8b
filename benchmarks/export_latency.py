"""Sampling latency (batch 1) and throughput (batch 256) of a generator: the Keras call, the
loaded SavedModel signature, and onnxruntime through `OnnxGenerator`.

Each preset is built for its reference shape (dcgan and conv-vae on 28x28x1 images, realnvp on
28x28x1 images with dequantisation), exported to both formats (verified), then each runtime maps
fixed noise to samples after warm-up; the median of --repeats timed calls is reported.
Untrained weights: speed does not depend on them. Prints one Markdown table.

    python benchmarks/export_latency.py --presets dcgan conv-vae realnvp
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


def run(preset, args, root):
    model = kg.models.get(preset, data_shape=SHAPE, seed=0)
    folder = kg.export.saved_model(model, os.path.join(root, preset))
    files = kg.export.onnx(model, os.path.join(root, f"{preset}.onnx"))
    signature = tf.saved_model.load(folder).signatures["serving_default"]
    generator = kg.export.OnnxGenerator(files["generate"], threads=args.threads)
    name = model.export_noise()["name"]
    rows = []
    for batch in (1, 256):
        noise = generator.draw_noise(batch, seed=0)
        z = tf.constant(noise)
        runtimes = {
            "keras model(z)": lambda: model(z, training=False).numpy(),
            "SavedModel": lambda: signature(**{name: z})["samples"].numpy(),
            "onnxruntime": lambda: generator.generate(noise),
        }
        times = {k: median_seconds(fn, args.repeats) for k, fn in runtimes.items()}
        rows.append({"preset": preset, "batch": batch, **times})
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="+", default=["dcgan", "conv-vae", "realnvp"])
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads (default: its own)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as root:
        rows = [row for preset in args.presets for row in run(preset, args, root)]
    print(f"\n{machine()}; {SHAPE} images; median of {args.repeats} calls after warm-up; "
          f"onnxruntime threads: {args.threads or 'default'}.\n")
    runtimes = ["keras model(z)", "SavedModel", "onnxruntime"]

    def cell(r, k):
        per = r[k] * 1000
        return f"{per:.2f} ms" if r["batch"] == 1 else f"{r['batch'] / r[k]:,.0f} samples/s"

    print_table(["preset", "batch", *runtimes, "onnxruntime speed-up vs keras"],
                [[r["preset"], r["batch"], *(cell(r, k) for k in runtimes),
                  f"{r['keras model(z)'] / r['onnxruntime']:.1f}x"] for r in rows])


if __name__ == "__main__":
    main()
