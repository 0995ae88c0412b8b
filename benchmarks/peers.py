"""kerasgen against the PyTorch flows people would pick instead (zuko), side by side.

For each flow (realnvp, maf, nsf), both sides train the same architecture (`--transforms` steps,
`--hidden` conditioner units, `--bins` spline bins for nsf) with Adam (`--lr`) at the same batch size
on the same training points of a 2-D density (`kg.data.get_density`), for the same epochs, and score
the same held-out points; the density's own NLL on them is the floor. The two sides alternate,
`--rounds` times, round r seeding both sides' initialisation and shuffling with `--seed` + r; the
table gives medians (and, for the NLL gap, the range over the rounds):
- steady steps/s: steps per second after the first 2 epochs (batch-end timestamps inside the run);
- wall time to a trained model: from before building the model to the end of training (kerasgen: build,
  compile, `fit` with its tracing; zuko: build and the training loop);
- held-out NLL and its gap to the floor.
kerasgen runs in this process (its defaults: `--precision` of flows is float32, Keras' `fit` on a cached,
shuffled `tf.data` pipeline); zuko runs in `benchmarks/.peers-venv` (create it with
`bash benchmarks/peers_setup.sh`: CPU-only torch, zuko, normflows from the package registry) through
`benchmarks/peers_torch.py`, at torch's default threads.

    bash benchmarks/peers_setup.sh                       # once
    python benchmarks/peers.py                           # realnvp, maf, nsf; 30 epochs of 30,000 points; 3 rounds
    python benchmarks/peers.py --models nsf --epochs 60 --density moons --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kerasgen as kg  # noqa: E402
from common import machine, print_table  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS_PYTHON = os.path.join(HERE, ".peers-venv", "bin", "python")
FLOWS = ("realnvp", "maf", "nsf")


class _EpochEnds(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.ends, self.steps, self.seen = [], [], 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(time.perf_counter())
        self.steps.append((self.steps[-1] if self.steps else 0) + self.seen)


def run_kerasgen(name, train, test, args, seed):
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    extra = {"num_bins": args.bins} if name == "nsf" else {}
    model = kg.models.get(name, data_shape=(2,), seed=seed, num_steps=args.transforms,
                          hidden=tuple(args.hidden), **extra)
    model.compile(optimizer=keras.optimizers.Adam(args.lr))
    data = (tf.data.Dataset.from_tensor_slices(train).cache().shuffle(len(train), seed=seed)
            .batch(args.batch_size).prefetch(tf.data.AUTOTUNE))
    ends = _EpochEnds()
    model.fit(data, epochs=args.epochs, verbose=0, callbacks=[ends])
    wall = time.perf_counter() - start
    skip = min(2, len(ends.ends) - 1) - 1
    steady = (ends.steps[-1] - ends.steps[skip]) / (ends.ends[-1] - ends.ends[skip])
    nll = float(-np.mean(np.concatenate([model.log_prob(test[i:i + 5000]) for i in range(0, len(test), 5000)])))
    return {"wall_s": wall, "steady_steps_per_s": steady, "test_nll": nll}


def run_zuko(name, data_path, args, seed):
    config = {"model": name, "data": data_path, "epochs": args.epochs, "batch_size": args.batch_size,
              "transforms": args.transforms, "hidden": args.hidden, "bins": args.bins, "lr": args.lr,
              "seed": seed, "steady_from": 2}
    out = subprocess.run([PEERS_PYTHON, os.path.join(HERE, "peers_torch.py"), json.dumps(config)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(FLOWS), choices=FLOWS)
    parser.add_argument("--density", default="8gaussians")
    parser.add_argument("--points", type=int, default=30_000)
    parser.add_argument("--test-points", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--transforms", type=int, default=4)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 64])
    parser.add_argument("--bins", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not os.path.isfile(PEERS_PYTHON):
        sys.exit(f"no {PEERS_PYTHON}: run 'bash benchmarks/peers_setup.sh' first")

    density = kg.data.get_density(args.density)
    train = density.sample(args.points, seed=args.seed).astype("float32")
    test = density.sample(args.test_points, seed=10_000 + args.seed).astype("float32")
    floor = float(-density.log_prob(test).mean())
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        data_path = os.path.join(folder, "data.npz")
        np.savez(data_path, train=train, test=test)
        for name in args.models:
            ours, theirs = [], []
            for r in range(args.rounds):
                ours.append(run_kerasgen(name, train, test, args, args.seed + r))
                theirs.append(run_zuko(name, data_path, args, args.seed + r))
                print(f"# {name}: kerasgen {ours[-1]}, zuko {theirs[-1]}", flush=True)
            med = {side: {key: statistics.median(r[key] for r in runs) for key in ("wall_s", "steady_steps_per_s", "test_nll")}
                   for side, runs in (("kerasgen", ours), ("zuko", theirs))}
            k, z = med["kerasgen"], med["zuko"]
            gaps = {side: sorted(r["test_nll"] - floor for r in runs) for side, runs in (("kerasgen", ours), ("zuko", theirs))}
            span = lambda side: f" ({gaps[side][0]:.3f}-{gaps[side][-1]:.3f})" if len(gaps[side]) > 1 else ""
            rows.append([name, f"{k['steady_steps_per_s']:.0f}", f"{z['steady_steps_per_s']:.0f}",
                         f"{k['steady_steps_per_s'] / z['steady_steps_per_s']:.2f}x",
                         f"{k['wall_s']:.1f}", f"{z['wall_s']:.1f}", f"{z['wall_s'] / k['wall_s']:.2f}x",
                         f"{k['test_nll'] - floor:.3f}{span('kerasgen')}", f"{z['test_nll'] - floor:.3f}{span('zuko')}"])
        torch_version = theirs[-1].get("torch", "?") if args.models else "?"
    print(f"\n{machine()}; TensorFlow {tf.__version__}, Keras {keras.__version__} against torch {torch_version}, "
          f"zuko; {args.density}: {args.points} training and {args.test_points} test points (floor, the density's "
          f"own NLL: {floor:.3f} nats); {args.epochs} epochs at batch {args.batch_size}; {args.transforms} "
          f"transforms, hidden {tuple(args.hidden)}, {args.bins} bins (nsf); Adam {args.lr:g}; medians of "
          f"{args.rounds} alternating rounds (seeds {args.seed}-{args.seed + args.rounds - 1})\n")
    print_table(["flow", "kerasgen steady steps/s", "zuko steady steps/s", "speed ratio",
                 "kerasgen wall to trained (s)", "zuko wall to trained (s)", "wall ratio (zuko / kerasgen)",
                 "kerasgen NLL gap (nats)", "zuko NLL gap (nats)"], rows)


if __name__ == "__main__":
    main()
