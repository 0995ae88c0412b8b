"""Fréchet and kernel distances against closed forms and known cases."""

import numpy as np
import pytest
from scipy import linalg

import kerasgen as kg


def gaussian(n, mean, seed, dim=4, scale=1.0):
    """n draws (seeded) of one fixed correlated Gaussian, shifted by `mean` and scaled by `scale`."""
    mixing = np.random.default_rng(99).normal(size=(dim, dim)) * 0.3 + np.eye(dim)
    return np.random.default_rng(seed).normal(size=(n, dim)) @ (mixing * scale) + mean


def test_fid_of_a_set_with_itself_is_zero():
    x = gaussian(500, 0.0, 0)
    assert kg.metrics.fid(x, x) == pytest.approx(0.0, abs=1e-6)


def test_fid_with_identity_features_is_the_closed_form_frechet_distance():
    a, b = gaussian(2000, 0.0, 1), gaussian(1500, 0.7, 2, scale=1.5)
    m1, m2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # the closed form through the symmetric square root: tr((C1^1/2 C2 C1^1/2)^1/2)
    s1 = linalg.sqrtm(c1).real
    expected = np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * np.trace(linalg.sqrtm(s1 @ c2 @ s1).real)
    assert kg.metrics.fid(a, b) == pytest.approx(expected, rel=1e-6)
    cached = kg.metrics.statistics(a)  # a reference computed once
    assert kg.metrics.fid(cached, b) == pytest.approx(expected, rel=1e-6)
    # one-dimensional check by hand: (m1 - m2)^2 + (s1 - s2)^2
    assert kg.metrics.frechet_distance(1.0, 4.0, 3.0, 9.0) == pytest.approx(4.0 + 1.0)


def brute_force_mmd(a, b):
    """Unbiased MMD^2 with k(x, y) = (x.y / F + 1)^3, as a double loop over pairs (i != j within a set)."""
    k = lambda x, y: (float(np.dot(x, y)) / a.shape[1] + 1.0) ** 3
    m, n = len(a), len(b)
    within_a = sum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    within_b = sum(k(b[i], b[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    across = sum(k(a[i], b[j]) for i in range(m) for j in range(n)) / (m * n)
    return within_a + within_b - 2.0 * across


def test_kid_is_the_unbiased_polynomial_mmd_of_its_definition():
    # rejects: a biased MMD^2 (diagonals kept), a degree-2 kernel, a kernel without the 1/F, a linear kernel
    # by hand, F = 1: k(0, 1) = 1, k(2, 3) = 343, cross terms 1, 1, 27, 64: 1 + 343 - 2 * 93 / 4
    assert kg.metrics.kid(np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]]), subsets=1).mean == pytest.approx(297.5)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 3)) * 2.0, rng.normal(size=(6, 3)) + 0.5
    # one subset of every example: the subset is a permutation, which the MMD does not see
    assert kg.metrics.kid(a, b, subsets=1).mean == pytest.approx(brute_force_mmd(a, b), rel=1e-9)
    # several subsets: the mean and spread of the subset values (rejects a median, a pooled estimate)
    rng = np.random.default_rng(7)  # the subsets kid draws with seed 7: one of a, then one of b, per subset
    values = [brute_force_mmd(a[rng.choice(6, 4, replace=False)], b[rng.choice(6, 4, replace=False)]) for _ in range(5)]
    result = kg.metrics.kid(a, b, subsets=5, subset_size=4, seed=7)
    assert (result.mean, result.std) == pytest.approx((np.mean(values), np.std(values)), rel=1e-9)


def test_kid_is_unbiased_about_zero_on_one_distribution_and_positive_on_shifted_ones():
    # rejects a biased MMD^2: on 20 + 20 draws of one Gaussian its bias is 70 standard errors of this mean
    values = [kg.metrics.kid(gaussian(20, 0.0, 2 * i), gaussian(20, 0.0, 2 * i + 1), subsets=1).mean
              for i in range(500)]
    assert abs(np.mean(values)) < 3.5 * np.std(values) / np.sqrt(len(values))
    a, b = gaussian(1000, 0.0, 3), gaussian(1000, 0.0, 4)
    same = kg.metrics.kid(a, b, subsets=20, subset_size=500)
    shifted = kg.metrics.kid(a, gaussian(1000, 1.0, 5), subsets=20, subset_size=500)
    assert shifted.mean > 10 * max(same.std, 1e-3) and shifted.mean > 0.1
    assert same.subsets == 20 and same.subset_size == 500


def test_features_can_be_any_callable_and_bad_input_is_rejected():
    x = np.random.default_rng(0).normal(size=(50, 3, 3, 1))
    assert kg.metrics.fid(x, x, features=lambda b: b.reshape(len(b), -1)[:, :4]) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="NaN"):
        kg.metrics.fid(np.full((4, 2), np.nan), x.reshape(50, -1)[:, :2])
    with pytest.raises(ValueError, match="differ in shape"):
        kg.metrics.fid(np.zeros((5, 2)) + np.arange(5)[:, None], np.zeros((5, 3)) + np.arange(5)[:, None])
    with pytest.raises(ValueError, match="feature sizes differ"):
        kg.metrics.kid(np.ones((5, 2)), np.ones((5, 3)))
