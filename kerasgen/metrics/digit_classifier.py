"""The bundled digit classifier behind `DigitFeatures`: its network, its training and its weights.

A small CNN on 8x8 grey-scale digits in [0, 1] (bright strokes on a dark background):
conv 3x3 (32) - conv 3x3 (32) - max-pool 2 - conv 3x3 (64) - flatten - dense 64 ("features") -
dense 10 (softmax). It is trained on the train split of scikit-learn's digits (kerasgen's fixed
85/15 split, `kerasgen.data.split_indices`): each epoch sees the digits as they are and a copy
zoomed out, shifted and dimmed at random (`augment`), so that digits that do not fill their frame
(MNIST resized to 8x8) are classified too. The test split is held out.

Measured with the shipped weights: 98.9% on the held-out digits; 70.5% on 8,000 MNIST digits
area-resized to 8x8 (a domain shift: there it is a feature space, not an MNIST classifier).

Reproduce the shipped weights (about 30 s on a 2-core CPU):

    python -m kerasgen.metrics.digit_classifier --out kerasgen/metrics/weights/digits_classifier.npz
"""

from __future__ import annotations

import argparse
import os

import numpy as np

WEIGHTS_FILE = os.path.join(os.path.dirname(__file__), "weights", "digits_classifier.npz")
FEATURE_LAYER = "features"
NUM_CLASSES = 10


def build():
    """The classifier, uncompiled: (B, 8, 8, 1) in [0, 1] -> (B, 10) probabilities."""
    import keras
    from keras import layers

    inputs = keras.Input((8, 8, 1), name="digits")
    h = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    h = layers.Conv2D(32, 3, padding="same", activation="relu")(h)
    h = layers.MaxPooling2D(2)(h)
    h = layers.Conv2D(64, 3, padding="same", activation="relu")(h)
    h = layers.Flatten()(h)
    h = layers.Dense(64, activation="relu", name=FEATURE_LAYER)(h)
    h = layers.Dropout(0.3)(h)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities", dtype="float32")(h)
    return keras.Model(inputs, outputs, name="kerasgen_digits")


def digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn digits of kerasgen's fixed split: x float32 (N, 8, 8, 1) in [0, 1], y int (N,)."""
    from sklearn.datasets import load_digits

    from kerasgen.data.arrays import split_indices

    data = load_digits()
    idx = split_indices(len(data.images), split)
    return (data.images[idx] / 16.0).astype(np.float32)[..., None], data.target[idx].astype(np.int32)


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random zoom-out, shift and contrast of 8x8 digits in [0, 1].

    Each digit is upsampled to 32x32, shrunk to 16..32 pixels, placed at a random position of a dark
    32x32 canvas and area-averaged back to 8x8 (how the scikit-learn digits were made), then its
    intensity is scaled by 0.7..1.0. Digits that do not fill their frame (MNIST's 20x20 box in 28x28)
    then look familiar to the classifier.
    """
    import tensorflow as tf

    big = tf.image.resize(x, (32, 32), method="bilinear").numpy()
    canvas = np.zeros_like(big)
    sizes = rng.integers(16, 33, size=len(x))
    for size in np.unique(sizes):
        idx = np.flatnonzero(sizes == size)
        small = tf.image.resize(big[idx], (size, size), method="area").numpy()
        for j, i in enumerate(idx):
            top, left = rng.integers(0, 33 - size, size=2)
            canvas[i, top:top + size, left:left + size] = small[j]
    out = tf.image.resize(canvas, (8, 8), method="area").numpy()
    return (out * rng.uniform(0.7, 1.0, size=(len(x), 1, 1, 1))).astype(np.float32)


def train(epochs: int = 60, seed: int = 0, verbose: int = 0):
    """Trains the classifier on the train split (augmented each epoch); returns the model."""
    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = digits("train")
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    for _ in range(epochs):  # each epoch: the digits as they are, and a zoomed-out, shifted copy
        model.fit(np.concatenate([x, augment(x, rng)]), np.concatenate([y, y]), batch_size=64, epochs=1,
                  verbose=verbose, shuffle=True)
    return model


def accuracy(model, split: str = "test") -> float:
    """Fraction of the split's digits the classifier gets right."""
    x, y = digits(split)
    return float(np.mean(np.argmax(model.predict(x, verbose=0), axis=1) == y))


def save(model, path: str) -> None:
    """Writes the weights as a plain `.npz` (arrays in `model.weights` order), atomically."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp.npz"
    np.savez_compressed(tmp, **{f"w{i:02d}": w.numpy() for i, w in enumerate(model.weights)})
    os.replace(tmp, path)


def load(path: str | None = None):
    """The classifier with weights from `path` (default: the bundled file)."""
    path = path or WEIGHTS_FILE
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no digit classifier weights at {path}")
    model = build()
    with np.load(path) as stored:
        arrays = [stored[k] for k in sorted(stored.files)]
    if len(arrays) != len(model.weights) or any(a.shape != tuple(w.shape) for a, w in zip(arrays, model.weights)):
        raise ValueError(f"{path} does not hold weights of the digit classifier")
    model.set_weights(arrays)
    return model


def feature_model(model):
    """(B, 8, 8, 1) -> (B, 64) activations of the feature layer."""
    import keras

    return keras.Model(model.input, model.get_layer(FEATURE_LAYER).output)


def probability_model(model):
    """The classifier itself: (B, 8, 8, 1) -> (B, 10) probabilities."""
    return model


def main(argv=None) -> int:
    """Trains the classifier and writes its weights; prints the held-out accuracy."""
    p = argparse.ArgumentParser(description="Train kerasgen's bundled digit classifier.")
    p.add_argument("--out", default=WEIGHTS_FILE)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    model = train(args.epochs, args.seed)
    save(model, args.out)
    print(f"held-out accuracy {accuracy(model):.4f} (train {accuracy(model, 'train'):.4f}); wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
