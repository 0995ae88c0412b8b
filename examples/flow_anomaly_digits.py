"""Anomaly detection with a flow: a MAF on the 8x8 digits (flattened to 64-D vectors, dequantised)
scores held-out digits against noise images by their negative log-likelihood.

    python examples/flow_anomaly_digits.py
"""

import numpy as np
from sklearn.metrics import roc_auc_score

import kerasgen as kg

rng = np.random.default_rng(0)
bin_width = 2.0 / 16  # the digits have 17 grey levels in [-1, 1]
train = kg.data.load_arrays("digits", split="train").x.reshape(-1, 64)
test = kg.data.load_arrays("digits", split="test").x.reshape(-1, 64)
dequantise = lambda x: x + rng.uniform(0, bin_width, x.shape).astype(np.float32)  # a density for discrete data

flow = kg.models.get("maf", data_shape=(64,), num_steps=4, hidden=(256, 256), seed=0)
flow.compile()
flow.fit(dequantise(np.repeat(train, 10, axis=0)), batch_size=128, epochs=5, verbose=2)

noise = {
    "uniform noise": rng.uniform(-1, 1, test.shape).astype(np.float32),
    "shuffled pixels": np.stack([rng.permutation(row) for row in test]),
}
digits_score = kg.metrics.anomaly_score(flow, dequantise(test), method="nll")
print(f"held-out digits: NLL {digits_score.mean():.1f} nats")
for name, images in noise.items():
    score = kg.metrics.anomaly_score(flow, dequantise(images), method="nll")
    labels = np.r_[np.zeros(len(test)), np.ones(len(images))]
    auroc = roc_auc_score(labels, np.r_[digits_score, score])
    print(f"{name}: NLL {score.mean():.1f} nats, AUROC digits vs {name} = {auroc:.3f}")
