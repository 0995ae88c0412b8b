"""Mode coverage of the GAN presets on the toy2d ring (8gaussians) and grid (25gaussians).

Protocol of the VEEGAN and PacGAN papers: 2,500 samples after training; a sample
is high quality within 3 standard deviations (ring: 0.02, grid: 0.05) of its
nearest mode centre; a mode is captured when at least one high-quality sample
lands on it (we also print the modes with >= 20 of the 2,500, i.e. at least
a fifth of a uniform share on the grid).

Each preset trains on fresh samples of the density for a fixed wall-clock
budget on this machine's CPU. Prints one Markdown table.

    python benchmarks/mode_coverage.py --budget 120
    python benchmarks/mode_coverage.py --presets wgan-gp --data 25gaussians --budget 300
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

import kerasgen as kg  # noqa: E402
from common import machine, print_table, train_for  # noqa: E402

PRESETS = ["gan", "lsgan", "sngan", "wgan", "wgan-gp", "infogan"]
# Network and optimiser settings for 2-D toys (the presets' defaults are sized for images).
TOY_SETTINGS = dict(latent_dim=2, hidden=(256, 256, 256))


def run(preset, data, budget_s, batch_size, seed, extra, max_steps=None, learning_rate=None):
    density = kg.data.get_density(data)
    keras.utils.set_random_seed(seed)
    kwargs = {**TOY_SETTINGS, **extra}
    if preset == "infogan":
        kwargs.update(categorical_codes=(), continuous_codes=1)
    model = kg.models.get(preset, data_shape=(2,), seed=seed, **kwargs)
    if learning_rate is not None:  # keep each preset's optimiser and betas, change only the rate
        for config in (model.g_optimizer_config, model.d_optimizer_config):
            config["config"]["learning_rate"] = learning_rate
    model.adapt(density.sample(20_000, seed=10_000 + seed))
    model.compile(jit_compile=True)
    steps, seconds = train_for(model, density, budget_s, batch_size, seed, max_steps)
    samples = model.sample(2500, seed=seed)
    result = kg.metrics.mode_coverage(samples, density.centers, density.std)
    strict = kg.metrics.mode_coverage(samples, density.centers, density.std, min_count=20)
    return {"preset": preset, "data": data, "modes": result["modes"], "of": result["num_modes"],
            "modes20": strict["modes"], "hq": result["high_quality"], "rkl": result["reverse_kl"],
            "steps": steps, "seconds": seconds}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="*", default=PRESETS)
    p.add_argument("--data", nargs="*", default=["8gaussians", "25gaussians"])
    p.add_argument("--budget", type=float, default=120.0, help="training seconds per preset and density")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate of both players' preset optimisers (preset default when unset)")
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps (within --budget)")
    p.add_argument("--decay", action="store_true", help="cosine-decay the learning rate to 0 over --steps")
    p.add_argument("--latent-dim", type=int, default=TOY_SETTINGS["latent_dim"])
    p.add_argument("--hidden", type=int, nargs="*", default=list(TOY_SETTINGS["hidden"]))
    args = p.parse_args()
    extra = {"latent_dim": args.latent_dim, "hidden": tuple(args.hidden)}
    lr = args.lr
    if args.decay:
        if not (args.steps and args.lr):
            p.error("--decay needs --steps and --lr")
        lr = keras.saving.serialize_keras_object(keras.optimizers.schedules.CosineDecay(args.lr, args.steps))
    rows = []
    for data in args.data:
        for preset in args.presets:
            r = run(preset, data, args.budget, args.batch_size, args.seed, extra, args.steps, lr)
            rows.append(r)
            print(f"# {r}", flush=True)
    print(f"\nMachine: {machine()}; budget {args.budget:g} s per run; batch {args.batch_size}; "
          f"latent {args.latent_dim}; hidden {tuple(args.hidden)}; lr {args.lr or 'preset default'}"
          f"{' cosine-decayed over ' + str(args.steps) + ' steps' if args.decay else ''}; "
          f"2,500 samples; high quality = within 3 std of a centre.\n")
    print_table(["preset", "data", "modes (>=1 HQ)", "modes (>=20 HQ)", "high-quality", "reverse KL", "steps",
                 "train s"],
                [[r["preset"], r["data"], f"{r['modes']}/{r['of']}", f"{r['modes20']}/{r['of']}",
                  f"{100 * r['hq']:.1f}%", f"{r['rkl']:.3f}", r["steps"], f"{r['seconds']:.0f}"] for r in rows])


if __name__ == "__main__":
    main()
