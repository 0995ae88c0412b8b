"""A VAE from your own Keras networks on the 8x8 digits: held-out NLL, then the latent tools
(an interpolation between two encoded digits and a traversal grid), written as PNG grids.

    python examples/vae_latent_space.py
"""

import keras
import numpy as np

import kerasgen as kg

latent_dim = 4
x_in = keras.Input((8, 8, 1))
h = keras.layers.Flatten()(x_in)
h = keras.layers.Dense(128, activation="relu")(h)
encoder = keras.Model(x_in, {"mean": keras.layers.Dense(latent_dim)(h), "log_var": keras.layers.Dense(latent_dim)(h)})
decoder = keras.Sequential([  # logits of a Bernoulli decoder on pixels mapped to [0, 1]
    keras.Input((latent_dim,)),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dense(64),
    keras.layers.Reshape((8, 8, 1)),
])

vae = kg.models.VAE(encoder, decoder, latent_dim=latent_dim, likelihood="bernoulli", kl_warmup_steps=500)
vae.compile()
train, test = kg.data.load_arrays("digits", split="train"), kg.data.load_arrays("digits", split="test")
vae.fit(train.x, batch_size=64, epochs=60, validation_data=(test.x,), verbose=2)

nll = kg.metrics.log_likelihood(vae, test.x, k=500)
print(f"test NLL {nll.nll:.2f} +- {nll.stderr:.2f} nats ({nll.bits_per_dim:.3f} bits/dim, K={nll.k})")

path = kg.latent.interpolate_encodings(vae, test.x[:8], test.x[8:16], steps=8)  # (8 steps, 8 pairs, 8, 8, 1)
kg.plotting.save_samples(np.swapaxes(path, 0, 1).reshape(-1, 8, 8, 1), "runs/examples/vae_interpolations.png")
grid = kg.latent.traversal_grid(vae, values=np.linspace(-2.5, 2.5, 8))  # one row per latent dimension
kg.plotting.save_samples(grid.reshape(-1, 8, 8, 1), "runs/examples/vae_traversal.png")
print("wrote runs/examples/vae_interpolations.png and runs/examples/vae_traversal.png")
