"""Loss functions and penalties against hand-computed values."""

import numpy as np
import pytest
import tensorflow as tf

from kerasgen.losses import adversarial, information, penalties

REAL = np.array([[2.0], [-1.0], [0.0]], np.float32)
FAKE = np.array([[-3.0], [0.5], [1.0]], np.float32)


def softplus(v):
    return np.log1p(np.exp(v))


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def test_minimax_and_non_saturating():
    r, f = REAL[:, 0], FAKE[:, 0]
    expected_d = -np.log(sigmoid(r)) - np.log(1 - sigmoid(f))
    np.testing.assert_allclose(adversarial.minimax_d(REAL, FAKE), expected_d, rtol=1e-5)
    np.testing.assert_allclose(adversarial.minimax_g(FAKE), np.log(1 - sigmoid(f)), rtol=1e-5)
    np.testing.assert_allclose(adversarial.non_saturating_g(FAKE), -np.log(sigmoid(f)), rtol=1e-5)
    # at D = 1/2 everywhere the discriminator loss is 2 log 2
    np.testing.assert_allclose(adversarial.minimax_d(np.zeros((4, 1)), np.zeros((4, 1))), 2 * np.log(2), rtol=1e-6)


def test_wasserstein_hinge_least_squares():
    r, f = REAL[:, 0], FAKE[:, 0]
    np.testing.assert_allclose(adversarial.wasserstein_d(REAL, FAKE), [-5.0, 1.5, 1.0])
    np.testing.assert_allclose(adversarial.wasserstein_g(FAKE), -f)
    np.testing.assert_allclose(adversarial.hinge_d(REAL, FAKE), [0.0, 3.5, 3.0])
    np.testing.assert_allclose(adversarial.least_squares_d(REAL, FAKE), 0.5 * (r - 1) ** 2 + 0.5 * f**2)
    np.testing.assert_allclose(adversarial.least_squares_g(FAKE), [8.0, 0.125, 0.0])


def test_unknown_loss_is_named():
    with pytest.raises(ValueError, match="unknown adversarial loss 'foo'"):
        adversarial.get("foo")


def test_gradient_penalty_linear_critic_is_exact():
    w = tf.constant([[3.0], [4.0]])  # ||w|| = 5 -> penalty (5 - 1)^2 = 16 everywhere
    critic = lambda x: tf.matmul(x, w)
    real = np.random.default_rng(0).normal(size=(6, 2)).astype("float32")
    fake = np.random.default_rng(1).normal(size=(6, 2)).astype("float32")
    alpha = tf.random.uniform((6, 1))
    np.testing.assert_allclose(penalties.gradient_penalty(critic, real, fake, alpha), np.full(6, 16.0), rtol=1e-5)
    np.testing.assert_allclose(penalties.r1_penalty(critic, real), np.full(6, 25.0), rtol=1e-5)
    # the registry records a step applies: R1 enters as gamma / 2, the gradient penalty as lambda
    r1, gp = penalties.get("r1"), penalties.get("gradient")
    np.testing.assert_allclose(r1.factor * r1.term(critic, real, fake, None), np.full(6, 12.5), rtol=1e-5)
    np.testing.assert_allclose(gp.factor * gp.term(critic, real, fake, tf.constant([1, 2])), np.full(6, 16.0), rtol=1e-5)
    assert penalties.get("clip").constraint is penalties.clip_weights and penalties.get(None).term is None
    with pytest.raises(ValueError, match="unknown penalty 'l2'"):
        penalties.get("l2")


def test_gradient_penalty_quadratic_critic_uses_interpolates():
    critic = lambda x: 0.5 * tf.reduce_sum(tf.reshape(x, (tf.shape(x)[0], -1)) ** 2, axis=1, keepdims=True)
    real = np.ones((2, 2, 2, 1), np.float32)
    fake = np.zeros((2, 2, 2, 1), np.float32)
    alpha = tf.constant([0.5, 0.25], shape=(2, 1, 1, 1))
    # grad = x_hat = alpha * 1; ||grad|| = alpha * sqrt(4) = 2 alpha
    expected = (2 * np.array([0.5, 0.25]) - 1) ** 2
    np.testing.assert_allclose(penalties.gradient_penalty(critic, real, fake, alpha), expected, rtol=1e-5)


def test_gradient_penalty_has_finite_gradient_at_zero_norm():
    v = tf.Variable([[0.0], [0.0]])
    critic = lambda x: tf.matmul(x, v)
    x = np.ones((3, 2), np.float32)
    with tf.GradientTape() as tape:
        gp = tf.reduce_mean(penalties.gradient_penalty(critic, x, x, tf.ones((3, 1))))
    grad = tape.gradient(gp, v)
    assert np.isfinite(grad.numpy()).all()


def test_clip_weights():
    v = tf.Variable([-1.0, 0.005, 2.0])
    penalties.clip_weights([v], 0.01)
    np.testing.assert_allclose(v.numpy(), [-0.01, 0.005, 0.01])


def test_information_losses():
    logits = np.log(np.array([[0.5, 0.25, 0.25]], np.float32))
    np.testing.assert_allclose(information.class_cross_entropy(np.array([1]), logits), [np.log(4)], rtol=1e-5)
    codes = np.array([[0, 1]])
    two_codes = np.log(np.array([[0.5, 0.5, 0.1, 0.9]], np.float32))
    np.testing.assert_allclose(information.categorical_codes_nll(codes, two_codes, (2, 2)),
                               [np.log(2) - np.log(0.9)], rtol=1e-5)
    np.testing.assert_allclose(information.continuous_codes_nll(np.array([[1.0, -1.0]]), np.array([[0.0, 1.0]])),
                               [0.5 * (1 + 4)], rtol=1e-6)


# ---- one-sided label smoothing ---------------------------------------------------------------
def test_label_smoothing_moves_only_the_real_target():
    r, f = REAL[:, 0], FAKE[:, 0]
    t = 0.9  # cross-entropy against 0.9 on real logits; the fake term is the same as without smoothing
    expected = -t * np.log(sigmoid(r)) - (1 - t) * np.log(1 - sigmoid(r)) - np.log(1 - sigmoid(f))
    np.testing.assert_allclose(adversarial.minimax_d(REAL, FAKE, real_target=t), expected, rtol=1e-5)
    np.testing.assert_allclose(adversarial.least_squares_d(REAL, FAKE, real_target=t), 0.5 * (r - t) ** 2 + 0.5 * f**2)
    assert [n for n, loss in adversarial.LOSSES.items() if loss.targets] == ["minimax", "non_saturating", "least_squares"]


# ---- the f-GAN family ----------------------------------------------------------------------------
from kerasgen.losses import fdivergence  # noqa: E402

BIG = 30.0  # tanh(30) is 1 in float32: total variation's optimal critic is +-1/2, reached only at infinity


def optimal_logits(name, log_ratio):
    """The logit v* with g_f(v*) = f'(p/q) (the optimal critic T*), from r = log(p/q) (float64)."""
    return {"kl": 1.0 + log_ratio, "reverse_kl": log_ratio, "js": log_ratio, "pearson": 2.0 * np.expm1(log_ratio),
            "squared_hellinger": 0.5 * log_ratio, "total_variation": BIG * np.sign(log_ratio)}[name]


def closed_form(name, p, q):
    """D_f(P || Q) of discrete distributions, written from each divergence's definition."""
    m = 0.5 * (p + q)
    kl = lambda a, b: np.sum(a * np.log(a / b))  # noqa: E731
    return {"kl": kl(p, q), "reverse_kl": kl(q, p), "js": kl(p, m) + kl(q, m), "pearson": np.sum((p - q) ** 2 / q),
            "squared_hellinger": np.sum((np.sqrt(p) - np.sqrt(q)) ** 2), "total_variation": 0.5 * np.abs(p - q).sum()}[name]


@pytest.mark.parametrize("name", sorted(fdivergence.F_DIVERGENCES))
def test_f_divergence_pieces_are_consistent(name):
    div = fdivergence.get(name)
    u = np.array([0.05, 0.3, 0.9, 1.5, 4.0], np.float32)
    np.testing.assert_allclose(np.asarray(div.f(np.ones(1, np.float32))), 0.0, atol=1e-7)
    # Fenchel-Young equality at t = f'(u): f*(f'(u)) = u f'(u) - f(u)
    t = np.asarray(div.f_prime(u))
    np.testing.assert_allclose(np.asarray(div.conjugate(t)), u * t - np.asarray(div.f(u)), rtol=1e-5, atol=1e-6)
    # the activation reaches the optimal critic, and the stable f*(g_f(v)) is f* of g_f(v)
    v = optimal_logits(name, np.log(u.astype(np.float64))).astype(np.float32)
    if name != "total_variation":
        np.testing.assert_allclose(np.asarray(div.activation(v)), t, rtol=1e-5, atol=1e-6)
    v = np.linspace(-3, 0.6, 13).astype(np.float32)
    np.testing.assert_allclose(np.asarray(div.conjugate_of_logit(v)), np.asarray(div.conjugate(div.activation(v))),
                               rtol=1e-4, atol=1e-5)
    assert adversarial.get(name).discriminator == div.discriminator_loss


@pytest.mark.parametrize("name", sorted(fdivergence.F_DIVERGENCES))
def test_discriminator_loss_at_the_optimal_critic_is_minus_the_divergence_discrete(name):
    # P and Q on 4 points, as samples in exact proportions: the batch mean of the discriminator loss is
    # then exactly -(E_P[T] - E_Q[f*(T)]), which at T* = f'(p/q) is -D_f(P || Q)
    p, q = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.25, 0.25, 0.3, 0.2])
    v = optimal_logits(name, np.log(p / q))
    real = np.repeat(v, (p * 1000).round().astype(int)).astype(np.float32)[:, None]
    fake = np.repeat(v, (q * 1000).round().astype(int)).astype(np.float32)[:, None]
    bound = -np.mean(np.asarray(adversarial.get(name).discriminator(real, fake)), dtype=np.float64)
    np.testing.assert_allclose(bound, closed_form(name, p, q), rtol=1e-5, atol=1e-6)
    # another critic gives a lower bound
    other = (lambda a: a / BIG) if name == "total_variation" else (lambda a: 0.5 * a + 0.1)
    assert -np.mean(np.asarray(adversarial.get(name).discriminator(other(real), other(fake)))) < bound - 1e-3


def _gaussian_closed_forms(mp, sp, mq, sq):
    kl = lambda m1, s1, m2, s2: np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5  # noqa: E731
    bc = np.sqrt(2 * sp * sq / (sp**2 + sq**2)) * np.exp(-((mp - mq) ** 2) / (4 * (sp**2 + sq**2)))
    out = {"kl": kl(mp, sp, mq, sq), "reverse_kl": kl(mq, sq, mp, sp), "squared_hellinger": 2 - 2 * bc,
           "pearson": sq**2 / (sp * np.sqrt(2 * sq**2 - sp**2)) * np.exp((mp - mq) ** 2 / (2 * sq**2 - sp**2)) - 1}
    if sp == sq:
        from math import erf

        out["total_variation"] = erf(abs(mp - mq) / (2 * np.sqrt(2) * sp))
    return out


@pytest.mark.parametrize("sq", [1.0, 1.3])
def test_variational_bound_at_the_optimal_critic_is_the_gaussian_divergence(sq):
    # P = N(0.5, 1), Q = N(-0.3, sq^2): E_P[g_f(v*)] - E_Q[f*(g_f(v*))] by quadrature on a fine grid against
    # the closed forms (JS has none for Gaussians: it is checked on discrete distributions above)
    mp, sp, mq = 0.5, 1.0, -0.3
    x = np.linspace(-14, 14, 40001)
    dx = x[1] - x[0]
    log_p = -0.5 * ((x - mp) / sp) ** 2 - np.log(sp * np.sqrt(2 * np.pi))
    log_q = -0.5 * ((x - mq) / sq) ** 2 - np.log(sq * np.sqrt(2 * np.pi))
    for name, want in _gaussian_closed_forms(mp, sp, mq, sq).items():
        div = fdivergence.get(name)
        v = optimal_logits(name, log_p - log_q).astype(np.float32)
        t = np.asarray(div.activation(v), np.float64)
        conj = np.asarray(div.conjugate_of_logit(v), np.float64)
        bound = np.sum(np.exp(log_p) * t) * dx - np.sum(np.exp(log_q) * conj) * dx
        np.testing.assert_allclose(bound, want, rtol=2e-4, atol=1e-5, err_msg=name)
