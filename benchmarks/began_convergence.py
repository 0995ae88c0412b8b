"""BEGAN's convergence measure M_global over training, with k_t, on MNIST (or the 8x8 digits).

Trains the `began` preset on images and prints one Markdown table (epoch, M_global averaged over
the epoch's steps, k_t at the epoch's end, L(x), L(G(z))); saves the M_global curve and a grid of
samples as PNGs. M_global = L(x) + |gamma L(x) - L(G(z))| (Berthelot et al. 2017, section 3.4.1).

    python benchmarks/began_convergence.py --epochs 20 --out docs
    python benchmarks/began_convergence.py --data digits --epochs 30
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

import kerasgen as kg  # noqa: E402
from common import DEFAULT_MNIST, TimeBudget, machine, print_table  # noqa: E402


class EndOfEpochK(keras.callbacks.Callback):
    """Records k_t at the end of every epoch (the history holds its epoch mean)."""

    def __init__(self):
        super().__init__()
        self.values = []

    def on_epoch_end(self, epoch, logs=None):
        self.values.append(float(self.model.k.numpy()))


def curve_image(values, title, size=(480, 300), margin=40) -> Image.Image:
    """A line chart of `values` against their index (1-based), Pillow only."""
    values = np.asarray(values, np.float64)
    width, height = size
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    lo, hi = 0.0, float(values.max()) * 1.05
    x0, y0, x1, y1 = margin, margin // 2, width - margin // 2, height - margin

    def point(i, v):
        span = max(len(values) - 1, 1)
        return x0 + (x1 - x0) * i / span, y1 - (y1 - y0) * (v - lo) / (hi - lo)

    draw.rectangle([x0, y0, x1, y1], outline="black")
    for frac in (0.25, 0.5, 0.75):
        y = y1 - (y1 - y0) * frac
        draw.line([x0, y, x1, y], fill=(220, 220, 220))
        draw.text((2, y - 6), f"{lo + frac * (hi - lo):.2f}", fill="black")
    draw.line([point(i, v) for i, v in enumerate(values)], fill=(200, 30, 30), width=2)
    draw.text((x0, y1 + 6), "1", fill="black")
    draw.text((x1 - 16, y1 + 6), str(len(values)), fill="black")
    draw.text(((x0 + x1) // 2 - 20, y1 + 6), "epoch", fill="black")
    draw.text((x0 + 6, y0 + 4), title, fill="black")
    return img


def load_data(args):
    if args.data == "digits":
        return kg.data.load("digits", batch_size=args.batch_size, seed=args.seed, return_info=True)
    return kg.data.load(f"npz:{args.data}", batch_size=args.batch_size, seed=args.seed, return_info=True,
                        drop_remainder=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=DEFAULT_MNIST, help="an .npz of images (x) or 'digits'")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--budget", type=float, default=None, help="stop after the epoch in which these seconds pass")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overrides", default="{}", help="JSON preset overrides, e.g. '{\"base_filters\": 16}'")
    p.add_argument("--out", default="docs", help="folder of began-convergence.png and began-samples.png")
    p.add_argument("--name", default="began", help="file name prefix of the PNGs")
    args = p.parse_args()
    ds, info = load_data(args)
    keras.utils.set_random_seed(args.seed)
    model = kg.models.get("began", data=info, seed=args.seed, **json.loads(args.overrides))
    model.compile()
    k_at_end = EndOfEpochK()
    callbacks = [k_at_end] + ([TimeBudget(args.budget)] if args.budget else [])
    start = time.perf_counter()
    history = model.fit(ds, epochs=args.epochs, verbose=0, callbacks=callbacks).history
    seconds = time.perf_counter() - start
    m = history["m_global"]
    os.makedirs(args.out, exist_ok=True)
    curve = os.path.join(args.out, f"{args.name}-convergence.png")
    curve_image(m, f"BEGAN M_global, {info.spec.split('/')[-1]}").save(curve)
    grid = kg.plotting.save_samples(model.sample(64, seed=args.seed), os.path.join(args.out, f"{args.name}-samples.png"),
                                    scale=2 if info.data_shape[0] >= 28 else 4)
    print(f"Machine: {machine()}; data {info.spec} {info.data_shape}; batch {args.batch_size}; "
          f"{len(m)} epochs in {seconds:.0f} s; gamma {model.gamma}, lambda_k {model.lambda_k}; "
          f"overrides {args.overrides}\n")
    print_table(["epoch", "M_global", "k_t (end)", "L(x)", "L(G(z))"],
                [[i + 1, f"{m[i]:.4f}", f"{k_at_end.values[i]:.4f}", f"{history['real_error'][i]:.4f}",
                  f"{history['fake_error'][i]:.4f}"] for i in range(len(m))])
    print(f"\nM_global {m[0]:.4f} -> {m[-1]:.4f} ({100 * (1 - m[-1] / m[0]):.0f}% lower); wrote {curve}, {grid}")


if __name__ == "__main__":
    main()
