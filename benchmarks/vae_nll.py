"""Held-out negative log-likelihood of VAE presets on dynamically binarised MNIST.

Data: an .npz of 28x28 MNIST digits (keys x, y; by default the 8,000-digit file
next to the project, `../shared/data/mnist-8k.npz`). The first 7,000 digits train
(the last 500 of them serve as validation for early stopping), the last 1,000
test. Training images are binarised afresh each epoch (pixel ~ Bernoulli(grey
level)); validation and test images once, with a fixed seed.

NLL is the importance-sampled estimate (`kerasgen.metrics.log_likelihood`, the
IWAE estimator) with K samples per test digit, in nats; the -ELBO is printed too.
Prints one Markdown table.

    python benchmarks/vae_nll.py --presets vae iwae conv-vae --k 1000
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
from common import DEFAULT_MNIST, TimeBudget, load_mnist, machine, print_table  # noqa: E402

def binarise_once(x01, seed):
    """A fixed binarisation in kerasgen's image range {-1, 1}."""
    return (np.random.default_rng(seed).random(x01.shape) < x01).astype(np.float32) * 2 - 1


def dynamic_dataset(x01, batch_size, seed):
    """Shuffled batches binarised afresh every epoch, in {-1, 1}."""
    ds = tf.data.Dataset.from_tensor_slices(x01).shuffle(len(x01), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=True)
    return ds.map(lambda b: tf.cast(tf.random.uniform(tf.shape(b)) < b, tf.float32) * 2 - 1).prefetch(2)


def run(preset, args, train01, val, test):
    keras.utils.set_random_seed(args.seed)
    kwargs = dict(latent_dim=args.latent_dim, hidden=tuple(args.hidden), seed=args.seed)
    if preset == "conv-vae":
        kwargs["base_filters"] = args.base_filters
    model = kg.models.get(preset, data_shape=(28, 28, 1), **kwargs)
    model.compile()
    stop = keras.callbacks.EarlyStopping("val_neg_elbo", mode="min", patience=args.patience, restore_best_weights=True)
    start = time.perf_counter()
    history = model.fit(dynamic_dataset(train01, args.batch_size, args.seed), validation_data=(val,),
                        validation_batch_size=500, epochs=args.epochs, callbacks=[stop, TimeBudget(args.budget)],
                        verbose=0)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    nll = kg.metrics.log_likelihood(model, test, k=args.k, batch_size=args.eval_batch, seed=args.seed)
    neg_elbo = kg.metrics.elbo(model, test, k=10, seed=args.seed)
    eval_seconds = time.perf_counter() - start
    return {"preset": preset, "epochs": len(history.history["neg_elbo"]), "train_s": seconds, "nll": nll.nll,
            "stderr": nll.stderr, "neg_elbo": neg_elbo.nll, "eval_s": eval_seconds}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="+", default=["vae", "iwae", "conv-vae"])
    p.add_argument("--data", default=DEFAULT_MNIST)
    p.add_argument("--k", type=int, default=1000, help="importance samples per test digit")
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--budget", type=float, default=600, help="training seconds per preset")
    p.add_argument("--patience", type=int, default=20, help="early-stopping patience on the validation -ELBO")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--latent-dim", type=int, default=32)
    p.add_argument("--hidden", type=int, nargs="+", default=[256, 256])
    p.add_argument("--base-filters", type=int, default=32)
    p.add_argument("--eval-batch", type=int, default=20, help="test digits per evaluation batch")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    train_all, test01 = load_mnist(args.data)
    train01, val = train_all[:6500], binarise_once(train_all[6500:], seed=1)
    test = binarise_once(test01, seed=2)
    rows = [run(preset, args, train01, val, test) for preset in args.presets]
    print(f"\nMNIST (6,500 train + 500 validation of the first 7,000; last 1,000 test), dynamically binarised; "
          f"K = {args.k}; {machine()}\n")
    print_table(["preset", "epochs", "train s", "test NLL (nats)", "test -ELBO (nats)", "eval s"],
                [[r["preset"], r["epochs"], f"{r['train_s']:.0f}", f"{r['nll']:.2f} ± {r['stderr']:.2f}",
                  f"{r['neg_elbo']:.2f}", f"{r['eval_s']:.0f}"] for r in rows])


if __name__ == "__main__":
    main()
