"""Two-dimensional toy densities with exact samplers.

Every density is a `Toy2D` object with `sample(n, seed)`. All but `pinwheel` also give
their exact `log_prob`: the Gaussian mixtures (`8gaussians`, `25gaussians`, also with
their mode `centers`, which the mode-coverage metrics use) in closed form; the noisy
curves (`moons`, `circles`, `spirals`) as Gaussian noise around a curve, integrated
along the curve with a fine quadrature (nodes far closer than the noise scale);
`checkerboard` as its uniform density on eight squares. These are the floors a
density estimator's held-out NLL is measured against.

The ring and grid follow the protocol of the VEEGAN and PacGAN papers: eight
Gaussians with standard deviation 0.02 on a circle of radius 2, and 25 Gaussians
with standard deviation 0.05 centred on the grid {-4, -2, 0, 2, 4}^2.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
from scipy.special import logsumexp


@dataclasses.dataclass(frozen=True)
class Toy2D:
    """A 2-D density known only through an exact sampler.

    Attributes:
        name: the name used in the data spec `toy2d:<name>`.
        sampler: `f(n, rng) -> float32 array (n, 2)`.
    """

    name: str
    sampler: Callable[[int, np.random.Generator], np.ndarray]

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """Draws `n` points; the same `seed` gives the same points.

        Returns:
            float32 array of shape (n, 2).
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        rng = np.random.default_rng(seed)
        return np.asarray(self.sampler(int(n), rng), dtype=np.float32)


@dataclasses.dataclass(frozen=True)
class GaussianMixture2D(Toy2D):
    """An equally weighted mixture of isotropic 2-D Gaussians.

    Attributes:
        centers: float array (K, 2) of mode centres.
        std: the common standard deviation of every component.
    """

    centers: np.ndarray = None
    std: float = 1.0

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """Exact log-density in nats: x (n, 2) -> float64 (n,)."""
        return _log_gaussian_mixture(x, self.centers, np.full(len(self.centers), -np.log(len(self.centers))),
                                     self.std)


@dataclasses.dataclass(frozen=True)
class NoisyCurve2D(Toy2D):
    """Points on a curve plus isotropic Gaussian noise; the density is the noise kernel averaged
    along the curve, computed at quadrature nodes (positions and log-weights summing to 1).

    Attributes:
        nodes: float array (M, 2) of curve points.
        log_weights: float array (M,), log of each node's probability.
        std: the noise standard deviation.
    """

    nodes: np.ndarray = None
    log_weights: np.ndarray = None
    std: float = 1.0

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """Log-density in nats (exact up to the quadrature): x (n, 2) -> float64 (n,)."""
        return _log_gaussian_mixture(x, self.nodes, self.log_weights, self.std)


@dataclasses.dataclass(frozen=True)
class Checkerboard2D(Toy2D):
    """Uniform on the eight dark unit squares of a 4x4 board on [-2, 2]^2 (density 1/8 there)."""

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """log(1/8) on the squares, -inf off them: x (n, 2) -> float64 (n,)."""
        x = _points(x)
        inside = (np.abs(x) <= 2).all(1) & ((np.floor(x[:, 0]) + np.floor(x[:, 1])) % 2 == 0)
        return np.where(inside, -np.log(8.0), -np.inf)


def _points(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"expected points of shape (n, 2), got {x.shape}")
    return x


def _log_gaussian_mixture(x, nodes, log_weights, std, chunk=4096) -> np.ndarray:
    """log sum_m w_m N(x; node_m, std^2 I), in chunks of points."""
    x = _points(x)
    out = np.empty(len(x))
    for i in range(0, len(x), chunk):
        d2 = ((x[i:i + chunk, None, :] - nodes[None]) ** 2).sum(-1)
        out[i:i + chunk] = logsumexp(log_weights[None] - d2 / (2 * std**2), axis=1)
    return out - np.log(2 * np.pi * std**2)


def _curve(name, sampler, arcs, std, nodes_per_arc=1000):
    """A `NoisyCurve2D` from arcs [(weight, t_low, t_high, curve(t) -> (m, 2), density(t) or None)]."""
    nodes, log_weights = [], []
    for weight, low, high, curve, density in arcs:
        t = low + (np.arange(nodes_per_arc) + 0.5) * (high - low) / nodes_per_arc  # midpoint rule
        p = np.ones_like(t) if density is None else density(t)
        nodes.append(curve(t))
        log_weights.append(np.log(weight * p / p.sum()))
    return NoisyCurve2D(name=name, sampler=sampler, nodes=np.concatenate(nodes),
                        log_weights=np.concatenate(log_weights), std=std)


def _mixture(name: str, centers: np.ndarray, std: float) -> GaussianMixture2D:
    centers = np.asarray(centers, dtype=np.float64)

    def sampler(n, rng):
        idx = rng.integers(0, len(centers), size=n)
        return centers[idx] + std * rng.standard_normal((n, 2))

    return GaussianMixture2D(name=name, sampler=sampler, centers=centers, std=std)


def _ring_centers(k: int = 8, radius: float = 2.0) -> np.ndarray:
    angles = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _grid_centers() -> np.ndarray:
    g = np.arange(-4.0, 5.0, 2.0)
    return np.array([(a, b) for a in g for b in g])


def _moons(n, rng):
    n_top = n // 2
    t = rng.uniform(0, np.pi, size=n)
    top = np.stack([np.cos(t), np.sin(t)], 1)
    bottom = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)
    x = np.where((np.arange(n) < n_top)[:, None], top, bottom)
    x = x + 0.05 * rng.standard_normal((n, 2))
    return x[rng.permutation(n)]


def _circles(n, rng):
    t = rng.uniform(0, 2 * np.pi, size=n)
    radius = np.where(rng.random(n) < 0.5, 1.0, 0.5)
    x = radius[:, None] * np.stack([np.cos(t), np.sin(t)], 1)
    return x + 0.04 * rng.standard_normal((n, 2))


def _checkerboard(n, rng):
    x1 = rng.uniform(-2, 2, size=n)
    x2 = rng.uniform(0, 1, size=n) + rng.integers(0, 2, size=n) * 2.0 - 2.0
    x2 = x2 + np.floor(x1) % 2
    return np.stack([x1, x2], 1)


def _spirals(n, rng):
    t = np.sqrt(rng.uniform(0, 1, size=n)) * 3 * np.pi
    sign = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    x = sign[:, None] * np.stack([t * np.cos(t), t * np.sin(t)], 1) / 3.0
    return x + 0.1 * rng.standard_normal((n, 2))


def _pinwheel(n, rng, arms=5, radial_std=0.3, tangential_std=0.1, rate=0.25):
    angles = np.linspace(0, 2 * np.pi, arms, endpoint=False)
    feats = rng.standard_normal((n, 2)) * np.array([radial_std, tangential_std])
    feats[:, 0] += 1.0
    labels = rng.integers(0, arms, size=n)
    rot = angles[labels] + rate * np.exp(feats[:, 0])
    c, s = np.cos(rot), np.sin(rot)
    x = np.stack([c * feats[:, 0] - s * feats[:, 1], s * feats[:, 0] + c * feats[:, 1]], 1)
    return 2.0 * x


def _polar(radius):
    return lambda t: radius * np.stack([np.cos(t), np.sin(t)], 1)


_spiral = lambda sign: lambda t: sign * np.stack([t * np.cos(t), t * np.sin(t)], 1) / 3.0

DENSITIES: dict[str, Toy2D] = {
    "moons": _curve("moons", _moons, [(0.5, 0, np.pi, _polar(1.0), None),
                                      (0.5, 0, np.pi, lambda t: np.array([1.0, 0.5]) - _polar(1.0)(t), None)],
                    0.05),
    "circles": _curve("circles", _circles, [(0.5, 0, 2 * np.pi, _polar(1.0), None),
                                            (0.5, 0, 2 * np.pi, _polar(0.5), None)], 0.04),
    "8gaussians": _mixture("8gaussians", _ring_centers(), 0.02),
    "25gaussians": _mixture("25gaussians", _grid_centers(), 0.05),
    "checkerboard": Checkerboard2D("checkerboard", _checkerboard),
    # t = 3 pi sqrt(U) has density proportional to t on [0, 3 pi]
    "spirals": _curve("spirals", _spirals, [(0.5, 0, 3 * np.pi, _spiral(1.0), lambda t: t),
                                            (0.5, 0, 3 * np.pi, _spiral(-1.0), lambda t: t)], 0.1),
    "pinwheel": Toy2D("pinwheel", _pinwheel),
}


def get_density(name: str) -> Toy2D:
    """Returns the toy density called `name` (see `DENSITIES`).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    try:
        return DENSITIES[name]
    except KeyError:
        raise ValueError(
            f"unknown toy2d density {name!r}; known: {', '.join(sorted(DENSITIES))}"
        ) from None
