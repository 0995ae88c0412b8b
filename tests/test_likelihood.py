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


def linear_vae(w, b, mean_shift=0.0, log_var_shift=0.0, standardize=False, **kwargs):
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
                         decoder_scale=SIGMA, standardize=standardize, **kwargs)


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


def test_iwae_objective_is_the_k_sample_importance_bound(data):
    # rejects: the analytic KL inside the importance weights (off by 0.2 nats here, 14 Monte Carlo
    # standard errors), a bound without the -log K (off by log 10)
    w, b, _, _ = data
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(2000, LATENT)) @ w.T + b + SIGMA * rng.normal(size=(2000, D))).astype(np.float32)
    model = linear_vae(w, b, log_var_shift=2.0, objective="iwae", k_samples=10)  # a posterior too wide
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    trained = model.fit(x, batch_size=500, epochs=1, shuffle=False, verbose=0).history["neg_iwae"][-1]
    evaluated = model.evaluate(x, batch_size=500, verbose=0, return_dict=True)["neg_iwae"]
    draws = [kg.metrics.log_likelihood(model, x, k=10, seed=seed).nll for seed in range(6)]
    # the same data in every estimate: only the posterior draws differ, so the error is their spread
    for value in (trained, evaluated):
        assert abs(value - np.mean(draws)) < 4 * np.sqrt(2) * np.std(draws), (value, draws)
    assert kg.metrics.elbo(model, x, k=1).nll - np.mean(draws) > 0.2  # K = 10 is tighter than the ELBO here


def two_level_linear_vae(mean_shift=0.0):
    """A two-level linear-Gaussian `HierarchicalVAE` with its exact posterior (optionally perturbed),
    and its marginal log p(x) as a function.

    z2 ~ N(0, I), z1 | z2 ~ N(a * z2 + c, diag(s1)), x | z1 ~ N(W z1 + b, sigma^2 I), so
    x ~ N(W c + b, W diag(a^2 + s1) W^T + sigma^2 I); with W's columns orthogonal, p(z1 | x) and
    p(z2 | z1) are diagonal Gaussians, which the encoders represent exactly.
    """
    w, b = ppca(3)
    a, c, s1 = np.array([1.5, 0.6]), np.array([0.5, -1.0]), np.array([0.3, 0.8])
    prior1 = a**2 + s1  # marginal variance of z1
    post1 = 1.0 / (1.0 / prior1 + (w**2).sum(0) / SIGMA**2)  # Var(z1 | x)
    post2 = 1.0 / (1.0 + a**2 / s1)  # Var(z2 | z1)

    def dense(inputs, units, name, kernel, bias):
        layer = keras.layers.Dense(units, name=name)
        out = layer(inputs)
        layer.set_weights([kernel, bias])
        return out

    def gaussian_net(dim_in, dim_out, kernel, bias, log_var):
        inputs = keras.Input((dim_in,))
        return keras.Model(inputs, {"mean": dense(inputs, dim_out, "mean", kernel, bias),
                                    "log_var": dense(inputs, dim_out, "log_var", np.zeros((dim_in, dim_out)), log_var)})

    # E[z1 | x] = post1 * (c / prior1 + W^T (x - b) / sigma^2)
    encoder = gaussian_net(D, LATENT, w * post1 / SIGMA**2, post1 * (c / prior1 - w.T @ b / SIGMA**2) + mean_shift,
                           np.log(post1))
    # E[z2 | z1] = post2 * a / s1 * (z1 - c)
    top_encoder = gaussian_net(LATENT, LATENT, np.diag(post2 * a / s1), -post2 * a / s1 * c, np.log(post2))
    top_prior = gaussian_net(LATENT, LATENT, np.diag(a), c, np.log(s1))
    z_in = keras.Input((LATENT,))
    decoder = keras.Model(z_in, dense(z_in, D, "linear", w.T, b))
    model = kg.models.HierarchicalVAE(encoder, decoder, top_encoder, top_prior, LATENT, LATENT, data_shape=(D,),
                                      likelihood="gaussian", decoder_scale=SIGMA)
    marginal = multivariate_normal(w @ c + b, w @ np.diag(prior1) @ w.T + SIGMA**2 * np.eye(D))
    return model, marginal


def test_hierarchical_vae_importance_weights_are_the_two_level_marginal_likelihood():
    # rejects: p(z1 | z2) replaced by N(0, I), a z2 term left out of the weight, the top prior's mean or
    # variance ignored (each leaves weights that vary across samples and miss log p(x))
    model, marginal = two_level_linear_vae()
    x = marginal.rvs(100, random_state=4).astype(np.float32)
    log_p = marginal.logpdf(x)
    terms = model.bound_terms(x, k=8)
    np.testing.assert_allclose(terms["log_weight"], np.broadcast_to(log_p, (8, len(x))), atol=5e-4)
    # the analytic z2 KL is exact only in expectation over z1 and z2
    assert abs(kg.metrics.elbo(model, x, k=500).nll + log_p.mean()) < 0.02
    perturbed, _ = two_level_linear_vae(mean_shift=0.5)
    neg_elbo = kg.metrics.elbo(perturbed, x, k=20).nll
    estimate = kg.metrics.log_likelihood(perturbed, x, k=2000).nll
    assert neg_elbo + log_p.mean() > 0.2  # a real gap that the importance estimate closes
    assert -0.01 < estimate + log_p.mean() < 0.03


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
