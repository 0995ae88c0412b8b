"""Steps per second on one device against two (MirroredStrategy), at the same global batch.

On a CPU the two devices are logical devices sharing the machine's cores (what the tests use);
on a machine with GPUs, pass --gpus to use the first two GPUs instead. For each model: the
default strategy on the first device, then MirroredStrategy over two devices, each built and
compiled in its strategy's scope and trained on the same tf.data pipeline of 28x28x1 images;
median of --rounds fits of --steps steps after a warm-up (timed from the first to the last batch end).

    python benchmarks/scaling.py --models dcgan      # one model per run: a second set of
    python benchmarks/scaling.py --models conv-vae   # strategies in one process fails in TensorFlow
"""

from __future__ import annotations

import argparse
import os
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

from common import machine, print_table  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs=1, default=["dcgan"], help="one model per run")
    p.add_argument("--batch-size", type=int, default=64, help="global batch")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--gpus", action="store_true", help="two GPUs instead of two logical CPUs")
    args = p.parse_args()
    if args.gpus:
        devices = [d.name.replace("physical_device:", "") for d in tf.config.list_physical_devices("GPU")][:2]
        if len(devices) < 2:
            raise SystemExit("--gpus needs two GPUs")
    else:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        devices = ["/cpu:0", "/cpu:1"]
    import speed  # after the device configuration

    ds = speed.pipeline(speed.images(4000, 28), args.batch_size)
    rows = []
    for name in args.models:
        rates = {}
        for label, strategy in (("1 device", tf.distribute.OneDeviceStrategy(devices[0])),
                                ("2 devices", tf.distribute.MirroredStrategy(devices))):
            with strategy.scope():
                model = speed.kerasgen_model(name, (28, 28, 1), {})
            speed.timed_fit(model, ds, args.steps)
            rates[label] = statistics.median(speed.timed_fit(model, ds, args.steps) for _ in range(args.rounds))
        rows.append([name, f"{rates['1 device']:.1f}", f"{rates['2 devices']:.1f}",
                     f"{rates['2 devices'] / rates['1 device']:.2f}x"])
        print(f"# {rows[-1]}", flush=True)
    kind = "GPUs" if args.gpus else "logical CPU devices on the same cores"
    print(f"\nMachine: {machine()}; two {kind}; global batch {args.batch_size}; 28x28x1; median of {args.rounds} "
          f"fits of {args.steps} steps after a warm-up.\n")
    print_table(["model", "1 device steps/s", "2 devices steps/s", "scaling"], rows)


if __name__ == "__main__":
    main()
