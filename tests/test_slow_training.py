"""Long training runs (`pytest -m slow`): quality claims the benchmarks make, in small form."""

import numpy as np
import pytest

import kerasgen as kg
from kerasgen.models.base import adam

pytestmark = pytest.mark.slow


def test_lsgan_covers_the_ring():
    density = kg.data.get_density("8gaussians")
    model = kg.models.get("lsgan", data_shape=(2,), latent_dim=2, hidden=(128, 128, 128), seed=0,
                          g_optimizer_config=adam(1e-3), d_optimizer_config=adam(1e-3))
    model.compile(jit_compile=True)
    model.fit(density.sample(512 * 3000, seed=0), batch_size=512, epochs=1, verbose=0)
    result = kg.metrics.mode_coverage(model.sample(2500, seed=0), density.centers, density.std)
    assert result["modes"] == 8
    assert result["high_quality"] > 0.5


def test_dcgan_on_digits_fools_a_classifier_into_every_class():
    from sklearn.linear_model import LogisticRegression

    train = kg.data.load_arrays("digits")
    clf = LogisticRegression(max_iter=2000).fit(train.x.reshape(len(train.x), -1), train.y)
    model = kg.models.get("dcgan", data_shape=(8, 8, 1), seed=0)
    model.compile()
    model.fit(kg.data.load("digits", batch_size=64), epochs=100, verbose=0)
    predicted = clf.predict(model.sample(1000, seed=0).reshape(1000, -1))
    assert len(np.unique(predicted)) == 10
