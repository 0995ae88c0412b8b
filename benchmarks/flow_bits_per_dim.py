"""Test bits per dimension of image flows on scikit-learn's 8x8 digits and on MNIST.

digits: kerasgen's split of the 1,797 scikit-learn digits (17 grey levels, so bits/dim are for
17-level pixels: a uniform model scores log2 17 = 4.09). MNIST: an .npz of 28x28 digits (by
default `../shared/data/mnist-8k.npz`); the first 7,000 train, the last 1,000 test; 256 levels,
the convention of the published figures printed below the table.

Every preset trains with Adam under a time budget (uniform dequantisation noise afresh each
step), then reports the dequantised bound on the test set (`kerasgen.metrics.log_likelihood`,
exact for flows; one noise draw per test image). Prints one Markdown table.

    python benchmarks/flow_bits_per_dim.py --data digits mnist --presets realnvp glow maf --budget 600
"""

from __future__ import annotations

import argparse
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

import kerasgen as kg  # noqa: E402
from common import DEFAULT_MNIST, TimeBudget, load_mnist, machine, print_table, run_grid  # noqa: E402

# Published test bits/dim on MNIST (256 levels, the full 60,000-image training set), as
# tabulated by Grathwohl et al. 2019 (FFJORD, Table 2) and Chen et al. 2019 (Residual Flows).
PUBLISHED_MNIST = [("RealNVP (Dinh et al. 2017)", 1.06), ("Glow (Kingma & Dhariwal 2018)", 1.05),
                   ("FFJORD (Grathwohl et al. 2019)", 0.99), ("MAF (Papamakarios et al. 2017)", 1.89)]


def load(name, mnist_path):
    """(train, test, num_levels) in kerasgen's image range [-1, 1]."""
    if name == "digits":
        train, test = kg.data.load_arrays("digits", split="train"), kg.data.load_arrays("digits", split="test")
        return train.x, test.x, train.info.num_levels
    train01, test01 = load_mnist(mnist_path)
    return train01 * 2.0 - 1.0, test01 * 2.0 - 1.0, 256


def preset_kwargs(preset, args):
    if preset in ("realnvp", "nice", "nsf", "glow"):
        kw = {"channels": args.channels}
        if preset == "glow":
            kw["num_steps"] = args.glow_steps
        return kw
    return {"hidden": tuple(args.hidden), "num_steps": args.num_steps}


def run(preset, data, args):
    train, test, levels = load(data, args.mnist)
    keras.utils.set_random_seed(args.seed)
    info = kg.data.DataInfo(data, tuple(train.shape[1:]), None, is_image=True, num_examples=len(train),
                            num_levels=levels)
    model = kg.models.get(preset, data=info, seed=args.seed, **preset_kwargs(preset, args))
    steps_per_epoch = len(train) // args.batch_size
    schedule = keras.optimizers.schedules.CosineDecay(args.lr, args.max_epochs * steps_per_epoch, alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=args.clipnorm), jit_compile=args.jit)
    start = time.perf_counter()
    history = model.fit(train, batch_size=args.batch_size, epochs=args.max_epochs, verbose=0,
                        callbacks=[TimeBudget(args.budget)])
    seconds = time.perf_counter() - start
    result = kg.metrics.log_likelihood(model, test, batch_size=250, seed=args.seed)
    return {"preset": preset, "data": data, "levels": levels, "epochs": len(history.history["nll"]),
            "train_s": seconds, "train_bpd": history.history["bits_per_dim"][-1], "test_bpd": result.bits_per_dim,
            "stderr_bpd": result.stderr / (test[0].size * math.log(2)),
            "params": model.count_params()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="+", default=["realnvp", "glow", "maf"])
    p.add_argument("--data", nargs="+", default=["digits", "mnist"], choices=["digits", "mnist"])
    p.add_argument("--mnist", default=DEFAULT_MNIST, help="the MNIST .npz (x of shape (N, 28, 28), N >= 8000)")
    p.add_argument("--budget", type=float, default=300, help="training seconds per preset and data set")
    p.add_argument("--max-epochs", type=int, default=200, help="also the length of the cosine decay")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--clipnorm", type=float, default=50.0)
    p.add_argument("--channels", type=int, default=64, help="conditioner channels (multi-scale presets)")
    p.add_argument("--glow-steps", type=int, default=8, help="Glow steps per scale")
    p.add_argument("--hidden", type=int, nargs="+", default=[512, 512], help="MADE widths (maf)")
    p.add_argument("--num-steps", type=int, default=5, help="MAF steps")
    p.add_argument("--jit", action="store_true", help="compile the train step with XLA")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rows = run_grid(run, args)
    print(f"\n{machine()}; budget {args.budget:g} s per run; batch {args.batch_size}; Adam {args.lr:g}, cosine "
          f"decay over {args.max_epochs} epochs; conditioner channels {args.channels}; Glow K = {args.glow_steps}; "
          f"MAF {args.num_steps} x {tuple(args.hidden)}.\n")
    print_table(["preset", "data (levels)", "params", "epochs", "train s", "train bits/dim", "test bits/dim"],
                [[r["preset"], f"{r['data']} ({r['levels']})", f"{r['params']:,}", r["epochs"], f"{r['train_s']:.0f}",
                  f"{r['train_bpd']:.3f}", f"{r['test_bpd']:.3f} ± {r['stderr_bpd']:.3f}"] for r in rows])
    print("\nPublished MNIST test bits/dim (256 levels, 60,000 training images, GPU-days of training):")
    for name, value in PUBLISHED_MNIST:
        print(f"- {name}: {value}")


if __name__ == "__main__":
    main()
