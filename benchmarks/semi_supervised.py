"""Semi-supervised MNIST: the `ssgan` preset against its own discriminator trained as a plain classifier.

Data: an .npz of 28x28 MNIST digits (keys x, y; by default the 8,000-digit file next to the
project, `../shared/data/mnist-8k.npz`): the first 7,000 train, the last 1,000 test. Per seed,
`kerasgen.data.keep_labels_per_class` keeps 10 labels per class (100 in all) and marks the other
6,900 training digits unlabelled (-1).

- ssgan: `kg.models.get("ssgan", data_shape=(28, 28, 1), num_classes=10)` with its defaults,
  `compile()`, `fit` for `--budget` seconds on the 7,000 digits (100 labelled) in shuffled batches of
  100, each followed by 100 labelled digits (`kerasgen.data.labelled_batches`, as Salimans et al.'s
  code pairs a labelled and an unlabelled batch per step); test accuracy of `classify`.
- supervised: the same discriminator network (the preset's `mlp_classifier`, same sizes and noise
  layers), trained as a plain classifier (cross-entropy, Adam 1e-3) on the 100 labelled digits alone,
  for `--baseline-epochs` epochs in batches of 100.

Prints one Markdown table (one row per seed, then the mean) with the machine.

    python benchmarks/semi_supervised.py --seeds 0 1 2 --budget 100
    python benchmarks/semi_supervised.py --seeds 0 --epochs 150 --budget 100000   # the README figures, one seed per process
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerasgen as kg  # noqa: E402
from common import DEFAULT_MNIST, TimeBudget, machine, print_table  # noqa: E402

PUBLISHED = "Salimans et al. 2016 (full MNIST, 100 labels, 60k unlabelled): 99.07% (93 +- 6.5 errors of 10k)"


def load_labelled_mnist(path):
    """Images in [-1, 1] (N, 28, 28, 1) and labels: train 7,000, test 1,000."""
    if not os.path.isfile(path):
        raise SystemExit(f"no MNIST file at {path}; pass --data PATH (an .npz with x (N, 28, 28) and y)")
    data = np.load(path)
    x, y = data["x"].astype(np.float32), data["y"].astype(np.int32)
    if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) < 8000:
        raise SystemExit(f"expected at least 8,000 images of 28x28, got {x.shape}")
    x = (x / 127.5 - 1.0)[..., None]
    return (x[:7000], y[:7000]), (x[7000:8000], y[7000:8000])


def accuracy(probabilities, y):
    return float(np.mean(np.argmax(probabilities, axis=1) == y))


def run_ssgan(train, test, labels, seed, args):
    keras.utils.set_random_seed(seed)
    model = kg.models.get("ssgan", data_shape=(28, 28, 1), num_classes=10, seed=seed)
    model.compile()
    ds = kg.data.labelled_batches(train[0], labels, args.batch_size, args.labelled_per_batch, seed=seed,
                                  drop_remainder=True).prefetch(2)
    start = time.perf_counter()
    history = model.fit(ds, epochs=args.epochs, callbacks=[TimeBudget(args.budget)], verbose=0).history
    seconds = time.perf_counter() - start
    return accuracy(model.classify(test[0]), test[1]), len(history["d_loss"]), seconds


def run_supervised(train, test, labels, seed, args):
    """The preset's discriminator network as a plain classifier on the labelled digits alone."""
    keras.utils.set_random_seed(seed)
    reference = kg.models.get("ssgan", data_shape=(28, 28, 1), num_classes=10, seed=seed)
    net = keras.models.clone_model(reference.discriminator)  # same architecture, fresh weights
    inputs = keras.Input((28, 28, 1))
    classifier = keras.Model(inputs, net(inputs)["class_logits"])
    classifier.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    keep = np.flatnonzero(labels >= 0)
    kg.layers.initialize_weight_norm(net, train[0][keep])  # the data-dependent initialisation ssgan's fit does
    passes = np.tile(keep, args.baseline_epochs // 10)  # 10 Keras epochs of baseline_epochs / 10 passes each
    start = time.perf_counter()
    classifier.fit(train[0][passes], labels[passes], batch_size=args.batch_size, epochs=10, shuffle=True, verbose=0)
    seconds = time.perf_counter() - start
    logits = classifier.predict(test[0], batch_size=500, verbose=0)
    return accuracy(logits, test[1]), seconds


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=DEFAULT_MNIST)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--labels-per-class", type=int, default=10)
    p.add_argument("--budget", type=float, default=100, help="ssgan training seconds per seed")
    p.add_argument("--epochs", type=int, default=1000, help="ssgan epochs at most (the budget usually ends first)")
    p.add_argument("--baseline-epochs", type=int, default=300, help="epochs of the supervised baseline")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--labelled-per-batch", type=int, default=100,
                   help="labelled digits appended to each batch (kerasgen.data.labelled_batches)")
    args = p.parse_args()
    train, test = load_labelled_mnist(args.data)
    rows, ssgan_acc, base_acc = [], [], []
    for seed in args.seeds:
        labels = kg.data.keep_labels_per_class(train[1], args.labels_per_class, num_classes=10, seed=seed)
        acc_b, sec_b = run_supervised(train, test, labels, seed, args)
        acc_s, epochs, sec_s = run_ssgan(train, test, labels, seed, args)
        ssgan_acc.append(acc_s)
        base_acc.append(acc_b)
        rows.append([seed, f"{100 * acc_s:.1f}", f"{epochs} ({sec_s:.0f} s)", f"{100 * acc_b:.1f}",
                     f"{args.baseline_epochs} ({sec_b:.0f} s)", f"{100 * (acc_s - acc_b):+.1f}"])
        print(f"# {rows[-1]}", flush=True)
    s, b = np.array(ssgan_acc), np.array(base_acc)
    rows.append(["mean +- sd", f"{100 * s.mean():.1f} +- {100 * s.std():.1f}", "", f"{100 * b.mean():.1f} +- "
                 f"{100 * b.std():.1f}", "", f"{100 * (s - b).mean():+.1f}"])
    print(f"\nSemi-supervised MNIST (7,000 train digits, {10 * args.labels_per_class} labelled; 1,000 test), "
          f"{machine()}, batch {args.batch_size}")
    print_table(["seed", "ssgan test acc %", "ssgan epochs (time)", "supervised acc %", "supervised epochs (time)",
                 "gain (points)"], rows)
    print(f"\nPublished: {PUBLISHED}")


if __name__ == "__main__":
    main()
