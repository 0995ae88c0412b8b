"""FIDs comparable with published tables: kerasgen's recipes on the usual benchmarks, end to end.

For each (preset, data set) it runs what a user would type: `kerasgen train PRESET --data tfds:NAME`
with the preset's defaults, then `kerasgen evaluate` with the FID protocol of StudioGAN's CIFAR-10
table: `--n` samples (50,000) against the statistics of the training split (`--split train`), in
the feature space of the original TensorFlow FID code (`--features inception-fid`, the 2015-12-05
Inception graph and its resizing). It prints one Markdown table with the published figure beside
kerasgen's. Needs the data sets and the graph (downloaded on first use, or prepared beforehand with
`kerasgen download tfds:cifar10 inception-fid`); meant for a machine with a GPU.

    python benchmarks/published_fid.py --recipes dcgan:cifar10 wgan-gp:cifar10 sngan:cifar10 --epochs 100
    python benchmarks/published_fid.py --recipes dcgan:mnist --epochs 5 --n 10000
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common import print_table  # noqa: E402

# data set -> (tfds spec, extra train arguments); the image size each preset is built for follows the data
DATA = {
    "mnist": ("tfds:mnist", []),                       # 28x28x1
    "fashion_mnist": ("tfds:fashion_mnist", []),       # 28x28x1
    "cifar10": ("tfds:cifar10", []),                   # 32x32x3
    "celeb_a": ("tfds:celeb_a", ["--crop", "140", "140", "--image-size", "64", "64"]),  # 64x64x3 faces
}
# StudioGAN's CIFAR-10 table (50k samples against the training set, Inception of the TF FID code)
PUBLISHED = {("dcgan", "cifar10"): 48.3, ("wgan-gp", "cifar10"): 54.0, ("sngan", "cifar10"): 9.0}
HEADERS = ["preset", "data", "epochs", "training", "FID (kerasgen)", "FID (StudioGAN)", "IS", "samples", "device"]


def device() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    import platform

    return f"{platform.machine()} CPU x{os.cpu_count()}"


def run(preset, data, args):
    """Trains and evaluates one recipe through the command line; returns a table row."""
    from kerasgen.cli import main

    spec, extra = DATA[data]
    out = os.path.join(args.out, f"{preset}-{data}")
    common = ["--data-dir", args.data_dir] if args.data_dir else []
    common += ["--offline"] if args.offline else []
    start = time.perf_counter()
    train = ["train", preset, "--data", spec, "--epochs", str(args.epochs), "--out", out, "--overwrite",
             "--batch-size", str(args.batch_size), "--sample-every", str(args.epochs), "--quiet", *extra, *common]
    if main(train) != 0:
        raise SystemExit(f"training {preset} on {spec} failed")
    seconds = time.perf_counter() - start
    results = os.path.join(out, "published_fid.json")
    evaluate = ["evaluate", out, "--metrics", args.metrics, "--features", "inception-fid", "--split", "train",
                "--n", str(args.n), "--json", results, *common]
    if args.limit:
        evaluate += ["--limit", str(args.limit)]
    if main(evaluate) != 0:
        raise SystemExit(f"evaluating {preset} on {spec} failed")
    with open(results) as f:
        records = json.load(f)
    fid = records["fid"]["value"]
    published = PUBLISHED.get((preset, data))
    inception = records.get("is", {}).get("value")
    return [preset, data, args.epochs, f"{seconds:.0f} s", f"{fid:.2f}", "" if published is None else f"{published}",
            "" if inception is None else f"{inception:.2f}", f"{records['fid']['n_samples']} vs {records['fid']['n_real']}",
            device()]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipes", nargs="+", default=["dcgan:cifar10", "wgan-gp:cifar10", "sngan:cifar10"],
                   help=f"PRESET:DATA pairs; DATA is one of {', '.join(DATA)}")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--n", type=int, default=50000, help="samples drawn for the FID (the protocol: 50,000)")
    p.add_argument("--limit", type=int, default=None, help="real examples used (default: the whole training split)")
    p.add_argument("--metrics", default="fid,is")
    p.add_argument("--out", default="runs/published_fid")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--offline", action="store_true")
    args = p.parse_args(argv)
    recipes = []
    for recipe in args.recipes:
        preset, _, data = recipe.partition(":")
        if data not in DATA:
            raise SystemExit(f"unknown data set in {recipe!r}; use one of {', '.join(DATA)}")
        recipes.append((preset, data))
    rows = [run(preset, data, args) for preset, data in recipes]
    print_table(HEADERS, rows)
    return rows


if __name__ == "__main__":
    main()
