"""A class-conditional ACGAN on the 8x8 digits, then one row of samples per class.

    python examples/conditional_digits.py
"""

import numpy as np

import kerasgen as kg

ds, info = kg.data.load("digits", batch_size=64, return_info=True)
model = kg.models.get("acgan", data=info)
model.compile()
model.fit(ds, epochs=60, verbose=2)
labels = np.repeat(np.arange(10), 10)  # ten samples of each class
samples = model.sample(100, seed=0, labels=labels)
kg.plotting.save_samples(samples, "runs/examples/acgan_digits.png", scale=4)
print("wrote runs/examples/acgan_digits.png (row k holds class k)")
