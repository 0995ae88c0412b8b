"""Likelihood metrics against probabilistic PCA, whose marginal likelihood has a closed form."""

import keras
import numpy as np
import pytest
from scipy.stats import multivariate_normal

import kerasgen as kg

D, LATENT, SIGMA = 5, 2, 0.5


def ppca(seed=0):
    """W (D, 2) with orthogonal columns, bias b, noise sigma: z ~ N(0, I), x = W z + b + N(0, sigma^2 I)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(D, LATENT)))
    w = q * np.array([2.0, 0.7])
    b = rng.normal(size=D)
    return w, b


def linear_vae(w, b, mean_shift=0.0, log_var_shift=0.0, standardize=False, kl="analytic"):
    """A VAE whose decoder is the PPCA model and whose encoder is its exact posterior, optionally
    perturbed (the posterior is diagonal because W's columns are orthogonal)."""
    m_diag = (w**2).sum(0) + SIGMA**2
    a = (w / m_diag).T  # posterior mean = A (x - b)
    x_in = keras.Input((D,))
    mean = keras.layers.Dense(LATENT, name="mean")(x_in)
    log_var = keras.layers.Dense(LATENT, name="log_var")(x_in)
    encoder = keras.Model(x_in, {"mean": mean, "log_var": log_var})
    encoder.get_layer("mean").set_weights([a.T, -a @ b + mean_shift])
    encoder.get_layer("log_var").set_weights([np.zeros((D, LATENT)), np.log(SIGMA**2 / m_diag) + log_var_shift])
    z_in = keras.Input((LATENT,))
    decoder = keras.Model(z_in, keras.layers.Dense(D, name="linear")(z_in))
    decoder.get_layer("linear").set_weights([w.T, b])
    return kg.models.VAE(encoder, decoder, latent_dim=LATENT, data_shape=(D,), likelihood="gaussian",
                         decoder_scale=SIGMA, standardize=standardize, kl=kl)


@pytest.fixture(scope="module")
def data():
    w, b = ppca()
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(200, LATENT)) @ w.T + b + SIGMA * rng.normal(size=(200, D))).astype(np.float32)
    log_p = multivariate_normal(b, w @ w.T + SIGMA**2 * np.eye(D)).logpdf(x)
    return w, b, x, log_p


def test_exact_posterior_makes_every_importance_weight_the_marginal_likelihood(data):
    w, b, x, log_p = data
    model = linear_vae(w, b)
    terms = model.bound_terms(x, k=8)
    np.testing.assert_allclose(terms["log_weight"], np.broadcast_to(log_p, (8, len(x))), atol=2e-4)
    # the analytic-KL ELBO is exact only in expectation over the reconstruction term
    assert abs(kg.metrics.elbo(model, x, k=500).nll + log_p.mean()) < 0.01


def test_iwae_bound_lies_above_the_elbo_and_tightens_towards_log_p_with_k(data):
    w, b, x, log_p = data
    model = linear_vae(w, b, mean_shift=0.4, log_var_shift=0.6)
    true_nll = -log_p.mean()
    neg_elbo = kg.metrics.elbo(model, x, k=20).nll
    k1 = kg.metrics.log_likelihood(model, x, k=1)
    estimates = [kg.metrics.log_likelihood(model, x, k=k, seed=k).nll for k in (10, 100, 2000)]
    assert abs(k1.nll - neg_elbo) < 3 * k1.stderr  # K = 1 is the (Monte Carlo) ELBO
    assert neg_elbo > estimates[0] > estimates[1] > estimates[2] >= true_nll - 0.01
    assert neg_elbo - true_nll > 0.2  # the perturbed posterior leaves a real gap ...
    assert estimates[2] - true_nll < 0.02  # ... that K = 2000 closes


def test_monte_carlo_kl_agrees_with_the_analytic_kl_in_expectation(data):
    w, b, x, _ = data
    terms = linear_vae(w, b, mean_shift=0.4, log_var_shift=0.6).bound_terms(x[:50], k=4000)
    np.testing.assert_allclose(terms["log_weight"].mean(0), terms["elbo"].mean(0), atol=0.05)


def test_training_with_monte_carlo_kl_reports_the_sampled_kl(data):
    # rejects: kl="monte_carlo" silently training on the analytic KL (every step's kl would equal it), the
    # estimate's sign or densities wrong (its mean would miss the analytic KL), or the same posterior draw
    # every step (no spread between steps)
    w, b, x, _ = data
    x = x[:64]
    mean, log_var = linear_vae(w, b, mean_shift=0.4, log_var_shift=0.6).encode(x)
    analytic = np.mean(0.5 * np.sum(mean**2 + np.exp(log_var) - 1.0 - log_var, axis=1))
    per_step = {}
    for kl in ("analytic", "monte_carlo"):
        model = linear_vae(w, b, mean_shift=0.4, log_var_shift=0.6, kl=kl)
        # frozen (learning rate 0): every step sees the same posterior; one step per execution
        model.compile(optimizer=keras.optimizers.SGD(0.0), steps_per_execution=1)
        running = []  # the epoch's running mean of kl after each step
        log = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: running.append(logs["kl"]))
        model.fit(np.tile(x, (40, 1)), batch_size=64, epochs=1, shuffle=False, verbose=0, callbacks=[log])
        steps = np.arange(1, len(running) + 1)
        per_step[kl] = steps * np.array(running) - (steps - 1) * np.r_[0.0, running[:-1]]
    np.testing.assert_allclose(per_step["analytic"], analytic, rtol=1e-4)
    mc = per_step["monte_carlo"]
    spread = mc.std(ddof=1)
    assert spread > 0.01 * analytic and np.all(np.abs(mc - analytic) > 1e-6)
    assert abs(mc.mean() - analytic) < 4 * spread / np.sqrt(len(mc))


def test_standardised_models_report_the_density_of_the_data_on_its_own_scale(data):
    w, b, x, log_p = data
    model = linear_vae(w, b, standardize=True)
    shift, scale = np.linspace(-3, 3, D).astype(np.float32), np.linspace(0.5, 4, D).astype(np.float32)
    model.standardizer.mean.assign(shift)
    model.standardizer.std.assign(scale)
    estimate = kg.metrics.log_likelihood(model, x * scale + shift, k=4)
    expected = -(log_p - np.log(scale).sum()).mean()
    assert abs(estimate.nll - expected) < 1e-3
    assert abs(estimate.bits_per_dim - expected / (D * np.log(2))) < 1e-4
    assert estimate.n == len(x) and estimate.k == 4 and estimate.stderr > 0


def test_anomaly_scores_rank_outliers_above_inliers(data):
    w, b, x, log_p = data
    model = linear_vae(w, b)
    outliers = x[:20] + 6.0
    scores = kg.metrics.anomaly_score(model, np.concatenate([x[:20], outliers]))
    assert scores.shape == (40,) and scores[20:].min() > scores[:20].max()
    nll_scores = kg.metrics.anomaly_score(model, x[:20], method="nll", k=10)
    np.testing.assert_allclose(nll_scores, -log_p[:20], atol=1e-3)


def test_likelihood_metrics_reject_bad_input(data):
    w, b, x, _ = data
    model = linear_vae(w, b)
    with pytest.raises(ValueError, match=r"expects examples of shape \(5,\)"):
        kg.metrics.elbo(model, x[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        kg.metrics.log_likelihood(model, np.full((2, D), np.nan, np.float32), k=2)
    with pytest.raises(ValueError, match="unknown anomaly score method"):
        kg.metrics.anomaly_score(model, x, method="entropy")
    with pytest.raises(TypeError, match="no variational bound or density"):
        kg.metrics.log_likelihood(kg.models.get("gan", data_shape=(2,)), x[:, :2])
    with pytest.raises(ValueError, match="k must be >= 1"):
        kg.metrics.log_likelihood(model, x, k=0)
