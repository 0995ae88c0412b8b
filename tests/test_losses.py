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
