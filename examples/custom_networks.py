"""Your own Keras networks with any GAN option: here a non-saturating GAN with R1 on the two moons.

    python examples/custom_networks.py
"""

import keras

import kerasgen as kg

latent_dim = 8
generator = keras.Sequential([
    keras.Input((latent_dim,)),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dense(2),
], name="generator")
critic = keras.Sequential([
    keras.Input((2,)),
    keras.layers.Dense(128), keras.layers.LeakyReLU(0.2),
    keras.layers.Dense(128), keras.layers.LeakyReLU(0.2),
    keras.layers.Dense(1),
], name="critic")

gan = kg.models.GAN(generator, critic, latent_dim=latent_dim, loss="non_saturating",
                    penalty="r1", penalty_weight=1.0, standardize=True)
gan.compile(g_optimizer=keras.optimizers.Adam(1e-3, 0.5, 0.999), d_optimizer=keras.optimizers.Adam(1e-3, 0.5, 0.999),
            jit_compile=True)
gan.fit(kg.data.load("toy2d:moons", batch_size=256, n_samples=20_000), epochs=20, verbose=2)
kg.plotting.save_samples(gan.sample(5000, seed=0), "runs/examples/moons_r1.png")
print("wrote runs/examples/moons_r1.png")
