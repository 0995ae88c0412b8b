"""Two-dimensional toy densities with exact samplers.

Every density is a `Toy2D` object with `sample(n, seed)`; the Gaussian mixtures
(`8gaussians`, `25gaussians`) are `GaussianMixture2D` objects that also give the
exact `log_prob` and their mode `centers`, which the mode-coverage metrics use.

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
        """Exact log-density in nats.

        Args:
            x: array (n, 2).

        Returns:
            float64 array (n,).
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"expected points of shape (n, 2), got {x.shape}")
        d2 = ((x[:, None, :] - self.centers[None, :, :]) ** 2).sum(-1)
        log_comp = -d2 / (2 * self.std**2) - np.log(2 * np.pi * self.std**2)
        return logsumexp(log_comp, axis=1) - np.log(len(self.centers))


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


DENSITIES: dict[str, Toy2D] = {
    "moons": Toy2D("moons", _moons),
    "circles": Toy2D("circles", _circles),
    "8gaussians": _mixture("8gaussians", _ring_centers(), 0.02),
    "25gaussians": _mixture("25gaussians", _grid_centers(), 0.05),
    "checkerboard": Toy2D("checkerboard", _checkerboard),
    "spirals": Toy2D("spirals", _spirals),
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
