"""BiGAN features on MNIST: a logistic-regression probe on `encode(x)`.

Data: an .npz of 28x28 MNIST digits (keys x, y; by default `../shared/data/mnist-8k.npz`): the first
7,000 train, the last 1,000 test, in [-1, 1].

- bigan: `kg.models.get("bigan", data_shape=(28, 28, 1))` with its defaults, `compile()`, `fit` on the
  7,000 training digits (batches of `--batch-size`) for `--budget` seconds; features `encode(x)`.
- random encoder: the same preset's encoder, untrained (its initial weights).
- pixels: the 784 raw pixel values.

Each probe is scikit-learn's `LogisticRegression` on standardised features of the 7,000 training
digits (labels used only here), scored on the 1,000 test digits; 1-nearest-neighbour accuracy is
reported too (Donahue et al.'s measure). Prints one Markdown table with the machine.

    python benchmarks/bigan_probe.py --budget 240 --seed 0
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
from common import DEFAULT_MNIST, TimeBudget, machine, print_table  # noqa: E402
from semi_supervised import load_labelled_mnist  # noqa: E402

PUBLISHED = ("Donahue et al. 2017 (full MNIST, 60k train, 10k test, permutation-invariant networks, latent 50): "
             "1-NN accuracy on BiGAN features about 97% (97.39%, their table 1)")


def probe(train_features, train_y, test_features, test_y):
    """(logistic-regression accuracy, 1-NN accuracy) of standardised features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_features = train_features.reshape(len(train_features), -1)
    test_features = test_features.reshape(len(test_features), -1)
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    logistic.fit(train_features, train_y)
    knn = make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=1)).fit(train_features, train_y)
    return logistic.score(test_features, test_y), knn.score(test_features, test_y)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=DEFAULT_MNIST)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget", type=float, default=240, help="BiGAN training seconds")
    p.add_argument("--epochs", type=int, default=1000, help="epochs at most (the budget usually ends first)")
    p.add_argument("--batch-size", type=int, default=100)
    args = p.parse_args()
    (x_train, y_train), (x_test, y_test) = load_labelled_mnist(args.data)
    keras.utils.set_random_seed(args.seed)
    model = kg.models.get("bigan", data_shape=(28, 28, 1), seed=args.seed)
    model.compile()
    untrained = [w.copy() for w in model.encoder.get_weights()]
    rows = [["pixels", "-", *[f"{100 * a:.1f}" for a in probe(x_train, y_train, x_test, y_test)]]]
    random_encoder = keras.models.clone_model(model.encoder)
    random_encoder.set_weights(untrained)
    encode = lambda net, x: net.predict(x, batch_size=500, verbose=0)  # noqa: E731
    rows.append(["random encoder", f"{model.latent_dim}", *[f"{100 * a:.1f}" for a in
                 probe(encode(random_encoder, x_train), y_train, encode(random_encoder, x_test), y_test)]])
    ds = tf.data.Dataset.from_tensor_slices(x_train).shuffle(len(x_train), seed=args.seed)
    ds = ds.batch(args.batch_size, drop_remainder=True).prefetch(2)
    start = time.perf_counter()
    history = model.fit(ds, epochs=args.epochs, callbacks=[TimeBudget(args.budget)], verbose=0).history
    seconds = time.perf_counter() - start
    accs = probe(model.encode(x_train), y_train, model.encode(x_test), y_test)
    epochs = len(history["d_loss"])
    rows.append([f"bigan ({epochs} epochs, {seconds:.0f} s)", f"{model.latent_dim}", *[f"{100 * a:.1f}" for a in accs]])
    recon = model.reconstruct(x_test[:500])
    print(f"\nBiGAN probe on MNIST (7,000 train, 1,000 test), {machine()}, batch {args.batch_size}, seed {args.seed}; "
          f"final d_loss {history['d_loss'][-1]:.3f}, g_loss {history['g_loss'][-1]:.3f}; "
          f"test reconstruction |G(E(x)) - x| mean {np.abs(recon - x_test[:500]).mean():.3f} (of [-1, 1])")
    print_table(["features", "size", "logistic regression test acc %", "1-NN test acc %"], rows)
    print(f"\nPublished: {PUBLISHED}")


if __name__ == "__main__":
    main()
