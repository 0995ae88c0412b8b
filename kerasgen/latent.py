"""Latent-space tools: interpolation, prior and encoding interpolation, attribute vectors, traversal grids."""

from __future__ import annotations

import numpy as np

METHODS = ("linear", "slerp")


def interpolate(z0, z1, steps: int, method: str = "linear") -> np.ndarray:
    """Points between z0 and z1, both ends included.

    Args:
        z0, z1: latent vectors of shape (D,) or batches (B, D).
        steps: number of points (>= 2).
        method: "linear", or "slerp" (spherical: keeps the norm typical of
            Gaussian noise; falls back to linear for (anti)parallel vectors).

    Returns:
        float32 array (steps, D), or (steps, B, D) for batches.

    Example:
        >>> interpolate(np.zeros(2), np.ones(2), 3).tolist()
        [[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]]
    """
    if method not in METHODS:
        raise ValueError(f"unknown interpolation method {method!r}; use one of {', '.join(METHODS)}")
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    z0 = np.asarray(z0, np.float64)
    z1 = np.asarray(z1, np.float64)
    if z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must have the same shape, got {z0.shape} and {z1.shape}")
    t = np.linspace(0.0, 1.0, steps).reshape((steps,) + (1,) * z0.ndim)
    if method == "linear":
        return ((1 - t) * z0 + t * z1).astype(np.float32)
    n0 = np.linalg.norm(z0, axis=-1, keepdims=True)
    n1 = np.linalg.norm(z1, axis=-1, keepdims=True)
    cos = np.sum(z0 * z1, axis=-1, keepdims=True) / np.maximum(n0 * n1, 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    sin = np.sin(omega)
    safe = sin > 1e-6
    sin_safe = np.where(safe, sin, 1.0)
    slerp = (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / sin_safe
    linear = (1 - t) * z0 + t * z1
    return np.where(safe, slerp, linear).astype(np.float32)


def prior_interpolation(model, steps: int = 8, seed: int = 0, label: int | None = None,
                        method: str = "slerp") -> np.ndarray:
    """Samples along a path between two draws of the model's noise: the draws of `seed` and
    `seed + 1` (`kerasgen.noise.draw`, as `model.sample(1, seed)` draws them, so the first point is
    that sample), decoded by the model's generator (`export_generate`).

    Gaussian noise ("normal") is interpolated with `method` (slerp keeps the norm typical of the
    prior); InfoGAN noise interpolates its normal part and keeps the first draw's codes.

    Args:
        model: a kerasgen model whose noise is continuous (GANs, the VAE family but VQ-VAE, flows).
        steps: points, both ends included (>= 2).
        seed: seed of the first end.
        label: the class of every point for a conditional model (default 0); must be None for
            unconditional ones.
        method: "slerp" or "linear".

    Returns:
        float32 (steps, *data_shape) in data space (images in [-1, 1]).

    Raises:
        ValueError: discrete noise (VQ-VAE codes), or a bad label.
    """
    import keras

    from kerasgen import noise as noise_lib

    spec = model.export_noise()
    if spec["kind"] not in ("normal", "infogan"):
        raise ValueError(f"{type(model).__name__} draws {spec['kind']} noise: there is no continuous path "
                         f"between draws")
    z0, z1 = noise_lib.draw(spec, 1, seed)[0], noise_lib.draw(spec, 1, seed + 1)[0]
    if spec["kind"] == "normal":
        z = interpolate(z0, z1, steps, method)
    else:
        normal = spec["latent_dim"]
        z = np.repeat(z0[None], steps, 0).astype(np.float32)
        z[:, :normal] = interpolate(z0[:normal], z1[:normal], steps, method)
    if getattr(model, "num_classes", None) and label is None:
        label = 0
    labels = model.sample_labels(steps, None if label is None else np.full(steps, label))
    out = model.export_generate(keras.ops.convert_to_tensor(z), None if labels is None
                                else keras.ops.convert_to_tensor(labels))
    return np.asarray(keras.ops.convert_to_numpy(out), np.float32)


def _encode_means(model, x, labels=None):
    if not getattr(model, "has_encoder", False):
        raise TypeError(f"{type(model).__name__} has no encoder with a continuous latent space")
    return model.encode(x, labels)[0]


def interpolate_encodings(model, x_a, x_b, steps: int = 8, method: str = "slerp", labels=None) -> np.ndarray:
    """Decoded points between the encodings (posterior means) of x_a and x_b.

    Args:
        model: a VAE-family model with `encode` and `decode`.
        x_a, x_b: one example each (*data_shape) or batches (B, *data_shape), data space.
        steps: points including both ends.
        method: "linear" or "slerp".
        labels: int (B,) (or a scalar for single examples) for a conditional model; both
            ends and every point between use them.

    Returns:
        (steps, *data_shape), or (steps, B, *data_shape) for batches, data space.
    """
    x_a, x_b = np.asarray(x_a, np.float32), np.asarray(x_b, np.float32)
    single = x_a.shape == tuple(model.data_shape)
    if single:
        x_a, x_b = x_a[None], x_b[None]
        labels = None if labels is None else np.reshape(labels, (1,))
    z = interpolate(_encode_means(model, x_a, labels), _encode_means(model, x_b, labels), steps, method)
    batch = z.shape[1]
    flat_labels = None if labels is None else np.tile(np.asarray(labels), steps)
    decoded = model.decode(z.reshape(steps * batch, -1), flat_labels).reshape((steps, batch, *model.data_shape))
    return decoded[:, 0] if single else decoded


def attribute_vector(model, x, groups, positive, negative, labels=None) -> np.ndarray:
    """Mean encoding of the examples in group `positive` minus that of group `negative`, (latent_dim,).

    Adding the vector to an encoding moves it towards the attribute (smile, a class, ...):
    `model.decode(model.encode(x)[0] + alpha * v)`.

    Args:
        model: a VAE-family model.
        x: data-space examples (N, *data_shape).
        groups: (N,) a group label per example (any comparable values).
        positive, negative: the two group values to contrast.
        labels: int (N,) conditions for a conditional model.
    """
    groups = np.asarray(groups)
    if len(groups) != len(x):
        raise ValueError(f"groups ({len(groups)}) and x ({len(x)}) differ in length")
    pos, neg = groups == positive, groups == negative
    if not pos.any() or not neg.any():
        raise ValueError(f"both groups need examples: {int(pos.sum())} with {positive!r}, "
                         f"{int(neg.sum())} with {negative!r}")
    z = _encode_means(model, x, labels)
    return (z[pos].mean(0) - z[neg].mean(0)).astype(np.float32)


def traversal_grid(model, z=None, dims=None, values=None, labels=None) -> np.ndarray:
    """Decodings of z with one latent dimension at a time set to each of `values`.

    Args:
        model: a VAE-family model.
        z: the starting point (latent_dim,); zeros (the prior mean) when None.
        dims: latent dimensions to traverse; all when None.
        values: the values each dimension takes; linspace(-3, 3, 7) when None.
        labels: a class (int) for a conditional model.

    Returns:
        (len(dims), len(values), *data_shape) in data space: row i varies dimension dims[i].
    """
    latent_dim = model.latent_dim
    z = np.zeros(latent_dim, np.float32) if z is None else np.asarray(z, np.float32).reshape(-1)
    if z.shape != (latent_dim,):
        raise ValueError(f"z must have shape ({latent_dim},), got {z.shape}")
    dims = list(range(latent_dim)) if dims is None else [int(d) for d in dims]
    if any(d < 0 or d >= latent_dim for d in dims):
        raise ValueError(f"dims must lie in [0, {latent_dim - 1}]")
    values = np.linspace(-3.0, 3.0, 7) if values is None else np.asarray(values, np.float32).reshape(-1)
    grid = np.repeat(z[None, None], len(dims), 0).repeat(len(values), 1)
    for row, d in enumerate(dims):
        grid[row, :, d] = values
    flat = grid.reshape(-1, latent_dim)
    decoded = model.decode(flat, None if labels is None else np.full(len(flat), labels, np.int32))
    return decoded.reshape((len(dims), len(values), *model.data_shape))
