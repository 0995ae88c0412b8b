"""Held-out NLL of the flow presets on the toy2d densities with an exact log-density.

Each preset trains on fresh samples of the density (batch 256, Adam with the learning
rate cosine-decayed over --steps, at most --budget seconds), then scores 20,000 held-out
samples. The floor is the true density's own NLL on the same points (its entropy
estimate); the gap is what the flow leaves on the table, in nats. Prints one Markdown table.

    python benchmarks/flow_nll.py --presets nsf maf realnvp --data moons 8gaussians --budget 240
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerasgen as kg  # noqa: E402
from common import machine, print_table, run_grid, train_for  # noqa: E402

DENSITIES = ["moons", "circles", "8gaussians", "25gaussians", "checkerboard", "spirals"]


def run(preset, data, args):
    density = kg.data.get_density(data)
    keras.utils.set_random_seed(args.seed)
    extra = {k: v for k, v in (("num_steps", args.num_steps), ("num_bins", args.num_bins)) if v is not None}
    model = kg.models.get(preset, data_shape=(2,), seed=args.seed, hidden=tuple(args.hidden), **extra)
    schedule = keras.optimizers.schedules.CosineDecay(args.lr, args.steps, alpha=0.01)
    model.adapt(density.sample(20_000, seed=10_000 + args.seed))
    model.compile(optimizer=keras.optimizers.Adam(schedule), jit_compile=args.jit)
    steps, seconds = train_for(model, density, args.budget, args.batch_size, args.seed, args.steps)
    test = density.sample(20_000, seed=20_000 + args.seed)
    floor = float(-density.log_prob(test).mean())
    nll = float(-np.mean(np.concatenate([model.log_prob(test[i:i + 5000]) for i in range(0, len(test), 5000)])))
    return {"preset": preset, "data": data, "floor": floor, "nll": nll, "gap": nll - floor, "steps": steps,
            "seconds": seconds}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="*", default=["realnvp", "nsf", "maf"])
    p.add_argument("--data", nargs="*", default=DENSITIES)
    p.add_argument("--budget", type=float, default=120.0, help="training seconds per preset and density")
    p.add_argument("--steps", type=int, default=20_000, help="at most this many steps; the cosine decay's length")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--hidden", type=int, nargs="*", default=[128, 128])
    p.add_argument("--num-steps", type=int, default=None, help="flow steps (the preset's default when unset)")
    p.add_argument("--num-bins", type=int, default=None, help="spline bins (nsf)")
    p.add_argument("--jit", action="store_true", help="compile the train step with XLA")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rows = run_grid(run, args)
    print(f"\nMachine: {machine()}; budget {args.budget:g} s per run; batch {args.batch_size}; Adam {args.lr:g} "
          f"cosine-decayed over {args.steps} steps; hidden {tuple(args.hidden)}; flow steps "
          f"{args.num_steps or 'preset default'}; bins {args.num_bins or 'preset default'}; 20,000 test samples.\n")
    print_table(["preset", "data", "floor (true NLL)", "flow NLL", "gap (nats)", "steps", "train s"],
                [[r["preset"], r["data"], f"{r['floor']:.3f}", f"{r['nll']:.3f}", f"{r['gap']:.3f}", r["steps"],
                  f"{r['seconds']:.0f}"] for r in rows])


if __name__ == "__main__":
    main()
