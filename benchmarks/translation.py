"""Image-to-image translation on real MNIST digits, each preset with its defaults under one time budget.

- Super-resolution 4x (7x7 -> 28x28, the source the area-downsampled digit): PSNR, SSIM and label
  preservation (the share of outputs the bundled digit classifier reads as the source's digit) on
  the 1,000 test digits, for bicubic upsampling and for `srresnet`, `srgan` and `pix2pix` trained for
  `--budget` seconds each (stopped after the step that passes it) on the 7,000 training digits.
- CycleGAN between the digits and a known transform of them (`--transform`, default `invert`): the
  training digits are split in two halves (A, and the transform of the other half as B), so nothing
  pairs them; on the test digits it reports the L1 distance of G(a) to the true transform of a,
  its PSNR, and label preservation of F(G(a)) and of G(a) mapped back by the true inverse. Its
  four networks cost several times a super-resolution model's step, so it has its own budget
  (`--cycle-budget`, default `--budget`).

Prints one Markdown table per task and writes a grid of (source, output, target) triples per model
to `--out`. Data: an .npz with `x` (N, 28, 28) uint8 and `y`, default `../shared/data/mnist-8k.npz`.

    python benchmarks/translation.py --budget 300 --cycle-budget 900
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kerasgen as kg  # noqa: E402
from common import DEFAULT_MNIST, machine, print_table  # noqa: E402

SUPERRES_PRESETS = ("srresnet", "srgan", "pix2pix")


def mnist_npz(path, out_dir):
    """The 8k MNIST digits as an `npz:` spec kerasgen reads (x uint8 (N, 28, 28, 1), y), 7,000 train / 1,000 test
    by the file order: returns (train spec, test spec)."""
    with np.load(path) as f:
        x, y = f["x"], f["y"]
    x = x.reshape(len(x), 28, 28, 1).astype(np.uint8)
    os.makedirs(out_dir, exist_ok=True)
    specs = []
    for name, part in (("train", slice(0, 7000)), ("test", slice(7000, 8000))):
        file = os.path.join(out_dir, f"mnist_{name}.npz")
        np.savez(file, x=x[part], y=y[part])
        specs.append(f"npz:{file}")
    return specs


class StepBudget(keras.callbacks.Callback):
    """Stops training after the step in which `seconds` have passed (an epoch of these networks can take
    minutes on a CPU, longer than the budget); counts the steps."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds, self.start, self.steps = seconds, None, 0

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


def fit_for(model, arrays, budget, batch_size, seed, independent=False):
    """Trains on in-memory arrays for `budget` seconds; returns (seconds, epochs as a fraction)."""
    ds, steps = kg.data.stream_arrays(arrays, batch_size=batch_size, seed=seed, independent=independent)
    model.compile(steps_per_execution=1)  # the budget is checked after every step
    budget_callback = StepBudget(budget)
    start = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=100_000, callbacks=[budget_callback], verbose=0)
    return time.perf_counter() - start, budget_callback.steps / steps


def superres(train_spec, test_spec, args):
    train = kg.data.pair_arrays(train_spec, "superres", factor=4, split="all")
    test = kg.data.pair_arrays(test_spec, "superres", factor=4, split="all")
    rows, grids = [], {}
    bicubic = np.clip(tf.image.resize(test.source, (28, 28), method="bicubic").numpy(), -1, 1)
    rows.append(["bicubic", f"{kg.metrics.psnr(bicubic, test.target):.2f}", f"{kg.metrics.ssim(bicubic, test.target):.3f}",
                 f"{kg.metrics.label_preservation(bicubic, test.y):.3f}", "", ""])
    grids["bicubic"] = bicubic
    for name in args.presets:
        keras.utils.set_random_seed(args.seed)
        model = kg.models.get(name, data=train.info, seed=args.seed)
        seconds, epochs = fit_for(model, (train.source, train.target), args.budget, args.batch_size, args.seed)
        out = model.translate(test.source)
        rows.append([name, f"{kg.metrics.psnr(out, test.target):.2f}", f"{kg.metrics.ssim(out, test.target):.3f}",
                     f"{kg.metrics.label_preservation(out, test.y):.3f}", f"{seconds:.0f} s", f"{epochs:.2f}"])
        grids[name] = out
    rows.append(["(real 28x28 digits)", "", "", f"{kg.metrics.label_preservation(test.target, test.y):.3f}", "", ""])
    return rows, test, grids


def cyclegan(train_spec, test_spec, args):
    train = kg.data.unpaired_arrays(train_spec, transform_b=args.transform, split="all", seed=args.seed)
    test = kg.data.unpaired_arrays(test_spec, transform_b=args.transform, split="all", seed=args.seed)
    inverse = kg.data.transforms.get_inverse(args.transform)
    keras.utils.set_random_seed(args.seed)
    model = kg.models.get("cyclegan", data=train.info, seed=args.seed)
    budget = args.budget if args.cycle_budget is None else args.cycle_budget
    seconds, epochs = fit_for(model, (train.a, train.b), budget, args.batch_size, args.seed, independent=True)
    out = model.translate(test.a)
    back = model.translate(out, direction="b_to_a")
    row = ["cyclegan", f"{kg.metrics.l1(out, test.b_true):.4f}", f"{kg.metrics.psnr(out, test.b_true):.2f}",
           f"{kg.metrics.label_preservation(back, test.y_a):.3f}",
           f"{kg.metrics.label_preservation(inverse(out), test.y_a):.3f}",
           f"{seconds:.0f} s", f"{epochs:.2f}"]
    identity = ["identity map (no training)", f"{kg.metrics.l1(test.a, test.b_true):.4f}",
                f"{kg.metrics.psnr(test.a, test.b_true):.2f}", f"{kg.metrics.label_preservation(test.a, test.y_a):.3f}",
                "", "", ""]
    return [identity, row], test, out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=DEFAULT_MNIST, help="an .npz of 8,000 MNIST digits (x, y)")
    p.add_argument("--budget", type=float, default=300.0, help="training seconds per model")
    p.add_argument("--cycle-budget", type=float, default=None, help="CycleGAN's training seconds (default --budget)")
    p.add_argument("--presets", nargs="*", default=list(SUPERRES_PRESETS))
    p.add_argument("--transform", default="invert", choices=("invert", "rotate90"))
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-cyclegan", action="store_true")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "translation"))
    args = p.parse_args(argv)
    train_spec, test_spec = mnist_npz(args.data, args.out)
    cycle = "" if args.cycle_budget is None else f" ({args.cycle_budget:.0f} s for CycleGAN)"
    print(f"machine: {machine()}, TensorFlow {tf.__version__}, budget {args.budget:.0f} s per model{cycle}, "
          f"batch {args.batch_size}, seed {args.seed}\n")
    rows, test, grids = superres(train_spec, test_spec, args)
    print("Super-resolution 4x (7x7 -> 28x28), 1,000 test digits")
    print_table(["model", "PSNR (dB)", "SSIM", "labels kept", "training", "epochs"], rows)
    for name, out in grids.items():
        kg.plotting.save_image(kg.plotting.translation_image(test.source[:8], out[:8], test.target[:8], per_row=4,
                                                             scale=3), os.path.join(args.out, f"superres_{name}.png"))
    result = {"superres": rows}
    if not args.skip_cyclegan:
        rows, test, out = cyclegan(train_spec, test_spec, args)
        print(f"\nCycleGAN, digits vs {args.transform}ed digits (unpaired halves), 1,000 test digits: G(a) against the "
              f"true {args.transform}")
        print_table(["model", "L1 to the truth", "PSNR (dB)", "labels kept by F(G(a))", "labels kept by G(a), "
                     "inverted back", "training", "epochs"], rows)
        kg.plotting.save_image(kg.plotting.translation_image(test.a[:8], out[:8], test.b_true[:8], per_row=4, scale=3),
                               os.path.join(args.out, "cyclegan.png"))
        result["cyclegan"] = rows
    print(f"\ngrids (source, output, target) in {args.out}")
    return result


if __name__ == "__main__":
    main()
