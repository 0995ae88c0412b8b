"""Mode coverage of the GAN presets on the toy 2-D mixtures, with each preset's own defaults.

Protocol of the VEEGAN and PacGAN papers: 2,500 samples after training; a sample is high quality
within 3 standard deviations (ring: 0.02, grid: 0.05) of its nearest mode centre; a mode is captured
when at least one high-quality sample lands on it. Reverse KL is KL(samples' mode histogram || uniform).

Each preset is built as a new user builds it, `kg.models.get(name, data_shape=(2,), seed=s)`, then
`compile()`, and trained on fresh samples of the density at `--batch-size` (256):

- equal steps: every preset trains `--steps` (4,000) generator steps;
- equal time (`--equal-time`): every preset trains for the wall time `gan` took for those steps.

Figures are the mean over `--seeds` with the range. `--tuned` adds a second column: the recipe the
benchmark found for `lsgan`-style training (batch 1024, both learning rates 1e-3 cosine-decayed to 0
over `--tuned-steps`), which is not any preset's default.

    python benchmarks/mode_coverage.py                                  # every GAN preset, 3 seeds
    python benchmarks/mode_coverage.py --presets gan pacgan --data 25gaussians --equal-time --tuned
    python benchmarks/mode_coverage.py --presets fm-gan --seeds 0 1 2 3 4 5 --overrides '{"ema_decay": 0.98}'
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerasgen as kg  # noqa: E402
from common import machine, print_table, train_for  # noqa: E402

SAMPLES = 2500
TUNED = dict(batch_size=1024, learning_rate=1e-3)


def adversarial_presets():
    """Every registered unconditional preset of the adversarial family that takes vectors."""
    return [name for name, preset in kg.models.list(family="adversarial", data="vectors").items()
            if preset.labels in ("none", "optional")]


def build(preset, seed, tuned_steps=None, overrides=None):
    """The preset with its defaults (and `overrides`, keyword arguments of `kg.models.get`); with `tuned_steps`,
    both optimisers at the tuned cosine-decayed rate."""
    keras.utils.set_random_seed(seed)
    model = kg.models.get(preset, data_shape=(2,), seed=seed, **(overrides or {}))
    if tuned_steps:
        rate = keras.saving.serialize_keras_object(
            keras.optimizers.schedules.CosineDecay(TUNED["learning_rate"], tuned_steps))
        for player in model.players():
            player.default["config"]["learning_rate"] = rate
    model.compile()
    return model


def score(model, density, seed):
    """Modes, high-quality fraction and reverse KL of 2,500 samples; a run whose samples hold NaN or
    infinity (it diverged) scores 0 modes and 0 high quality, and is counted in the table."""
    samples = model.sample(SAMPLES, seed=seed)
    if not np.isfinite(samples).all():
        return {"modes": 0, "of": len(density.centers), "hq": 0.0, "rkl": float("nan"), "diverged": True}
    result = kg.metrics.mode_coverage(samples, density.centers, density.std)
    return {"modes": result["modes"], "of": result["num_modes"], "hq": result["high_quality"],
            "rkl": result["reverse_kl"], "diverged": False}


def run(preset, density, seed, batch_size, steps=None, seconds=None, tuned_steps=None, overrides=None):
    """Trains one preset for `steps` or `seconds` (whichever is given) and scores it."""
    model = build(preset, seed, tuned_steps, overrides)
    done, took = train_for(model, density, seconds if seconds else float("inf"), batch_size, seed, steps,
                           chunk_steps=100)
    return {**score(model, density, seed), "steps": done, "seconds": took}


def summary(results, key, percent=False):
    values = np.array([r[key] for r in results], dtype=float)
    values = values[np.isfinite(values)]  # a diverged run has no reverse KL
    if not len(values):
        return "-"
    scale, fmt = (100.0, "{:.1f}") if percent else (1.0, "{:.3g}" if key == "rkl" else "{:.0f}")
    mean = fmt.format(scale * values.mean())
    if len(values) == 1:
        return mean
    return f"{mean} ({fmt.format(scale * values.min())}-{fmt.format(scale * values.max())})"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="*", default=None, help="default: every unconditional GAN preset")
    p.add_argument("--data", nargs="*", default=["25gaussians"])
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    p.add_argument("--equal-time", action="store_true", help="also train each preset for gan's wall time")
    p.add_argument("--tuned", action="store_true", help="also the tuned recipe (batch 1024, lr 1e-3 cosine)")
    p.add_argument("--tuned-steps", type=int, default=4000)
    p.add_argument("--overrides", type=json.loads, default=None,
                   help='JSON keyword arguments of kg.models.get for every preset but gan, e.g. \'{"ema_decay": null}\'')
    args = p.parse_args()
    presets = args.presets or adversarial_presets()
    if args.equal_time and "gan" not in presets:
        presets = ["gan", *presets]
    rows = []
    for data in args.data:
        density = kg.data.get_density(data)
        gan_seconds = {}
        for preset in presets:
            row = {"preset": preset, "data": data}
            overrides = None if preset == "gan" else args.overrides
            row["steps"] = [run(preset, density, s, args.batch_size, steps=args.steps, overrides=overrides)
                            for s in args.seeds]
            if preset == "gan":
                gan_seconds = {s: r["seconds"] for s, r in zip(args.seeds, row["steps"])}
            if args.equal_time:
                row["time"] = [run(preset, density, s, args.batch_size, seconds=gan_seconds[s], overrides=overrides)
                               for s in args.seeds]
            if args.tuned:
                row["tuned"] = [run(preset, density, s, TUNED["batch_size"], steps=args.tuned_steps,
                                    tuned_steps=args.tuned_steps, overrides=overrides) for s in args.seeds]
            rows.append(row)
            print(f"# {row}", flush=True)
    print(f"\nMachine: {machine()}; preset defaults (kg.models.get(name, data_shape=(2,)), compile()); batch "
          f"{args.batch_size}; seeds {args.seeds} (mean, min-max); {SAMPLES:,} samples; high quality = within "
          f"3 std of a centre; equal steps = {args.steps:,} generator steps"
          f"{f'; overrides (all but gan) {json.dumps(args.overrides)}' if args.overrides else ''}"
          f"{'; equal time = the seconds gan took for them' if args.equal_time else ''}"
          f"{f'; tuned = batch 1024, lr 1e-3 cosine-decayed over {args.tuned_steps:,} steps' if args.tuned else ''}.\n")
    header = ["preset", "data", "modes", "high-quality %", "reverse KL", "train s"]
    if args.equal_time:
        header += ["modes (equal time)", "high-quality % (equal time)", "steps (equal time)"]
    if args.tuned:
        header += ["modes (tuned)", "high-quality % (tuned)"]
    table = []
    for row in rows:
        r = row["steps"]
        every_run = r + row.get("time", []) + row.get("tuned", [])
        diverged = sum(x.get("diverged", False) for x in every_run)
        name = row["preset"] + (f" ({diverged} of {len(every_run)} runs diverged)" if diverged else "")
        line = [name, row["data"], f"{summary(r, 'modes')}/{r[0]['of']}", summary(r, "hq", True),
                summary(r, "rkl"), summary(r, "seconds")]
        if args.equal_time:
            line += [f"{summary(row['time'], 'modes')}/{r[0]['of']}", summary(row["time"], "hq", True),
                     summary(row["time"], "steps")]
        if args.tuned:
            line += [f"{summary(row['tuned'], 'modes')}/{r[0]['of']}", summary(row["tuned"], "hq", True)]
        table.append(line)
    print_table(header, table)


if __name__ == "__main__":
    main()
