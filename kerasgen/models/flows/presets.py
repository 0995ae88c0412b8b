"""Flow presets: stacks of steps sized from `data_shape`.

Vectors (D,): the flow models standardised data. Images (H, W, C): the flow models uniformly
dequantised pixels (`num_levels`, default 256) through a logit step. `nice`, `realnvp` and
`nsf` become multi-scale flows with checkerboard and channel masks and `glow` is image-only;
the other presets flatten the image and stack their vector steps on the H*W*C values.

Every builder takes `num_steps`, `hidden` (MLP widths) and, for conditional use,
`num_classes` (labels become the context of every conditioner; planar, radial, residual and
FFJORD steps take none). Image conditioners are convolutional with `channels` channels.
"""

from __future__ import annotations

import math

from kerasgen.models.flows.autoregressive import AutoregressiveStep
from kerasgen.models.flows.continuous import FFJORDStep
from kerasgen.models.flows.coupling import CouplingStep, ImageCouplingStep
from kerasgen.models.flows.flow import Flow
from kerasgen.models.flows.linear import (ActNormStep, ElementwiseSplineStep, InvertibleConv1x1Step, LeakyReLUStep,
                                         LULinearStep, ScaleStep)
from kerasgen.models.flows.multiscale import FactorOutStep, FlattenStep, LogitStep, SqueezeStep
from kerasgen.models.flows.planar import PlanarStep, RadialStep
from kerasgen.models.flows.residual import ResidualStep
from kerasgen.registry import register_preset

CONTEXT_DIM = 8
# nsf on (standardised) vectors: splines on [-3, 3]. Their 8 bins start equal, so a wider interval leaves
# few bins where the data are: on 25gaussians (4 steps, 30 epochs) bound 4 ended 0.68 nats above the
# floor, 3 at 0.32, 2 at 0.23, while on the moons bound 2 cut the tails (0.24 against 0.06 at 3 and 4)
VECTOR_SPLINE_BOUND = 3.0
# ... and a learned scale at the data side, starting at 1 / VECTOR_SPLINE_DATA_SCALE, so the splines first see the
# standardised data spread to this standard deviation: the bins then cover the data's range finely while the
# noise side's [-3, 3] still holds 99.7% of each standard-normal coordinate
VECTOR_SPLINE_DATA_SCALE = 1.6


def _is_image(data_shape):
    return len(tuple(data_shape)) == 3


def _event_dim(name, data_shape):
    """D of the vectors the preset's steps work on: D for vectors, H*W*C for (flattened) images."""
    data_shape = tuple(data_shape)
    if len(data_shape) not in (1, 3):
        raise ValueError(f"preset {name!r} models vectors (D,) or images (H, W, C); got data_shape {data_shape}")
    return math.prod(data_shape)


def _flow(name, data_shape, steps, num_classes, num_levels=256, **kw):
    """A `Flow` of `steps` (noise side first). On images, vector steps get a flatten and a logit
    step on their data side, and the flow models dequantised pixels."""
    data_shape = tuple(data_shape)
    if _is_image(data_shape):
        if len(steps[-1].event_shape) == 1:
            steps = steps + [FlattenStep(data_shape, name="flatten")]
        steps = steps + [LogitStep(data_shape, alpha=kw.pop("alpha", 0.05), name="logit")]
        kw.setdefault("standardize", False)
        kw["num_levels"] = num_levels
    else:
        kw.setdefault("standardize", True)
    return Flow(steps, data_shape=data_shape, num_classes=num_classes, context_dim=CONTEXT_DIM, preset=name, **kw)


def _check_scales(name, data_shape, num_scales, squeeze_first):
    h, w, _ = data_shape
    squeezes = num_scales if squeeze_first else num_scales - 1
    if num_scales < 1 or h % 2**squeezes or w % 2**squeezes:
        raise ValueError(f"preset {name!r} with {num_scales} scales squeezes {squeezes} times: height and width "
                         f"must be divisible by {2**squeezes}, got {data_shape}; pass num_scales")


def _multiscale_coupling(name, transform, data_shape, num_classes, num_scales, channels, final_actnorm=False,
                         **kw):
    """RealNVP's multi-scale architecture (Dinh et al. 2017): per scale, 3 checkerboard couplings,
    a squeeze, 3 channel couplings and a factor-out of half the channels; 4 checkerboard couplings
    on the last scale. Listed here from the data side."""
    _check_scales(name, data_shape, num_scales, squeeze_first=False)
    context = CONTEXT_DIM if num_classes else 0
    extra = {k: kw.pop(k) for k in ("num_bins", "bound", "parameterisation") if k in kw}
    shape, steps = tuple(data_shape), []

    def coupling(mask, parity, tag):
        return ImageCouplingStep(shape, mask, parity, transform, hidden=channels, context_dim=context,
                                 name=tag, **extra)

    for scale in range(num_scales):
        last = scale == num_scales - 1
        for i in range(4 if last else 3):
            steps.append(coupling("checkerboard", i % 2, f"s{scale}_checker_{i}"))
        if final_actnorm:
            steps.append(ActNormStep(shape, name=f"s{scale}_actnorm"))
        if last:
            break
        steps.append(SqueezeStep(shape, name=f"s{scale}_squeeze"))
        shape = steps[-1].latent_shape
        for i in range(3):
            steps.append(coupling("channel", i % 2, f"s{scale}_channel_{i}"))
        steps.append(FactorOutStep(shape, name=f"s{scale}_factor_out"))
        shape = steps[-1].latent_shape
    return _flow(name, data_shape, steps[::-1], num_classes, **kw)


def _coupling_flow(name, transform, data_shape, num_classes, num_steps, hidden, final_scale=False, num_scales=2,
                   channels=64, elementwise_splines=False, passthrough_splines=False, data_scale=None, **kw):
    if _is_image(data_shape):
        return _multiscale_coupling(name, transform, data_shape, num_classes, num_scales, channels,
                                    final_actnorm=final_scale, **kw)
    dim = _event_dim(name, data_shape)
    context = CONTEXT_DIM if num_classes else 0
    extra = {k: kw.pop(k) for k in ("num_bins", "bound", "parameterisation") if k in kw}
    steps = []
    for i in range(num_steps):
        steps.append(CouplingStep(dim, parity=i % 2, transform=transform, hidden=hidden, context_dim=context,
                                  passthrough_spline=passthrough_splines, name=f"coupling_{i}", **extra))
        if elementwise_splines:
            steps.append(ElementwiseSplineStep(dim, name=f"elementwise_{i}", **extra))
    if final_scale:
        steps.append(ScaleStep(dim, name="scale"))
    if data_scale is not None:  # the data side: the steps see the (standardised) data times data_scale at the start
        if not float(data_scale) > 0:
            raise ValueError(f"data_scale must be > 0 (or None for no data-side scale), got {data_scale}")
        steps.append(ScaleStep(dim, initial_scale=1.0 / float(data_scale), name="data_scale"))
    return _flow(name, data_shape, steps, num_classes, **kw)


@register_preset("nice", "flow", "NICE: additive coupling steps and a final diagonal scaling",
                 labels="optional", uses_levels=True, small=dict(num_steps=2, hidden=(16, 16), channels=8, num_scales=1),
                 reference="Dinh et al. 2015, NICE: Non-linear Independent Components Estimation, arXiv:1410.8516")
def nice(data_shape, latent_dim=None, num_classes=None, num_steps=6, hidden=(128, 128), **kw):
    """NICE (Dinh et al. 2015); returns an uncompiled `Flow`. On images: the multi-scale coupling
    architecture with additive couplings and an ActNorm scaling per scale."""
    return _coupling_flow("nice", "additive", data_shape, num_classes, num_steps, hidden, final_scale=True, **kw)


@register_preset("realnvp", "flow", "RealNVP: affine coupling steps with alternating masks",
                 labels="optional", uses_levels=True, small=dict(num_steps=2, hidden=(16, 16), channels=8),
                 reference="Dinh et al. 2017, Density estimation using Real NVP, arXiv:1605.08803")
def realnvp(data_shape, latent_dim=None, num_classes=None, num_steps=8, hidden=(128, 128), **kw):
    """RealNVP (Dinh et al. 2017); returns an uncompiled `Flow`. On images: `num_scales` scales of
    checkerboard and channel-masked convolutional couplings with squeeze and factor-out."""
    return _coupling_flow("realnvp", "affine", data_shape, num_classes, num_steps, hidden, **kw)


@register_preset("nsf", "flow", "Neural spline flow: rational-quadratic spline couplings, 8 bins; on vectors "
                 "(bins on [-3, 3]) each coupling also splines the half it passes through, on images [-4, 4]",
                 labels="optional", uses_levels=True, small=dict(num_steps=2, hidden=(16, 16), channels=8, num_scales=1),
                 reference="Durkan et al. 2019, Neural Spline Flows, arXiv:1906.04032")
def nsf(data_shape, latent_dim=None, num_classes=None, num_steps=4, hidden=(128, 128), passthrough_splines=True,
        elementwise_splines=False, data_scale=VECTOR_SPLINE_DATA_SCALE, parameterisation=None, **kw):
    """Coupling neural spline flow (Durkan et al. 2019); returns an uncompiled `Flow` (multi-scale on images).

    On vectors a coupling passes half the dimensions through unchanged. With `passthrough_splines`
    (the default) each coupling gives that half a learned unconditional spline and conditions the
    other half's splines on its output (`CouplingStep(passthrough_spline=True)`), so every dimension
    changes in every step, as in an autoregressive spline flow (zuko's NSF) whose first dimension
    gets an unconditional spline; the density direction costs one spline pass per step.
    `elementwise_splines=True` follows each coupling with an `ElementwiseSplineStep` (a spline on
    every dimension: two spline passes per step), the preset's earlier form. Vector splines cover
    [-3, 3] (`bound`, `VECTOR_SPLINE_BOUND`) of the standardised data times `data_scale` (a learned
    `ScaleStep` at the data side starting there; None: no such step), and take the "bounded"
    `parameterisation` (exponential slopes; `coupling.SPLINE_PARAMETERISATIONS`). Image splines
    cover [-4, 4] of the logit-space pixels with the "softplus" parameterisation.
    """
    if _is_image(data_shape):  # the multi-scale coupling architecture as published
        return _coupling_flow("nsf", "spline", data_shape, num_classes, num_steps, hidden,
                              parameterisation=parameterisation or "softplus", **kw)
    kw.setdefault("bound", VECTOR_SPLINE_BOUND)
    parameterisation = parameterisation or "bounded"
    return _coupling_flow("nsf", "spline", data_shape, num_classes, num_steps, hidden,
                          elementwise_splines=elementwise_splines, passthrough_splines=passthrough_splines,
                          data_scale=data_scale, parameterisation=parameterisation, **kw)


def _autoregressive(name, data_shape, num_classes, num_steps, hidden, inverse, **kw):
    dim = _event_dim(name, data_shape)
    context = CONTEXT_DIM if num_classes else 0
    steps = [AutoregressiveStep(dim, hidden=hidden, reverse=i % 2 == 1, inverse=inverse,
                                context_dim=context, name=f"autoregressive_{i}") for i in range(num_steps)]
    return _flow(name, data_shape, steps, num_classes, **kw)


@register_preset("glow", "flow", "Glow: ActNorm, invertible 1x1 convolution and affine coupling, multi-scale (images)",
                 data=("images",), labels="optional", uses_levels=True, small=dict(num_steps=1, channels=8),
                 reference="Kingma & Dhariwal 2018, Glow: Generative Flow with Invertible 1x1 Convolutions, arXiv:1807.03039")
def glow(data_shape, latent_dim=None, num_classes=None, num_steps=8, num_scales=2, channels=64, **kw):
    """Glow (Kingma & Dhariwal 2018) on images; returns an uncompiled `Flow`.

    Per scale, from the data side: a squeeze, then `num_steps` times ActNorm (data-dependent
    initialisation, saved with the weights), an LU-decomposed invertible 1x1 convolution and an
    affine coupling on half of the channels; every scale but the last ends with a factor-out.
    """
    if not _is_image(data_shape):
        raise ValueError(f"preset 'glow' models images (H, W, C); got data_shape {tuple(data_shape)} "
                         "(for vectors use realnvp, nsf or lu-leaky)")
    _check_scales("glow", data_shape, num_scales, squeeze_first=True)
    kw.pop("hidden", None)
    context = CONTEXT_DIM if num_classes else 0
    shape, steps = tuple(data_shape), []
    for scale in range(num_scales):
        steps.append(SqueezeStep(shape, name=f"s{scale}_squeeze"))
        shape = steps[-1].latent_shape
        for i in range(num_steps):
            steps += [ActNormStep(shape, name=f"s{scale}_actnorm_{i}"),
                      InvertibleConv1x1Step(shape, seed=100 * scale + i, name=f"s{scale}_inv1x1_{i}"),
                      ImageCouplingStep(shape, "channel", 0, "affine", hidden=channels,
                                        context_dim=context, name=f"s{scale}_coupling_{i}")]
        if scale < num_scales - 1:
            steps.append(FactorOutStep(shape, name=f"s{scale}_factor_out"))
            shape = steps[-1].latent_shape
    return _flow("glow", data_shape, steps[::-1], num_classes, **kw)


@register_preset("maf", "flow", "MAF: masked autoregressive affine steps (fast density, sequential sampling)",
                 labels="optional", uses_levels=True, small=dict(num_steps=2, hidden=(16, 16)),
                 reference="Papamakarios et al. 2017, Masked Autoregressive Flow for Density Estimation, arXiv:1705.07057")
def maf(data_shape, latent_dim=None, num_classes=None, num_steps=5, hidden=(128, 128), **kw):
    """Masked autoregressive flow (Papamakarios et al. 2017); returns an uncompiled `Flow`."""
    return _autoregressive("maf", data_shape, num_classes, num_steps, hidden, inverse=False, **kw)


@register_preset("iaf", "flow", "IAF: inverse autoregressive steps (fast sampling, sequential density)",
                 labels="optional", uses_levels=True, small=dict(num_steps=2, hidden=(16, 16)),
                 reference="Kingma et al. 2016, Improved Variational Inference with Inverse Autoregressive Flow, arXiv:1606.04934")
def iaf(data_shape, latent_dim=None, num_classes=None, num_steps=5, hidden=(128, 128), **kw):
    """Inverse autoregressive flow (Kingma et al. 2016); returns an uncompiled `Flow`."""
    return _autoregressive("iaf", data_shape, num_classes, num_steps, hidden, inverse=True, **kw)


def _parameter_steps(name, step_class, data_shape, num_classes, num_steps, kw):
    """A stack of steps without conditioner networks (they take no labels and no `hidden`)."""
    if num_classes:
        raise ValueError(f"preset {name!r} takes no labels (its steps have no conditioner)")
    dim = _event_dim(name, data_shape)
    kw.pop("hidden", None)
    steps = [step_class(dim, name=f"{name}_{i}") for i in range(num_steps)]
    return _flow(name, data_shape, steps, None, **kw)


@register_preset("planar", "flow", "Planar flow: 16 planar steps with the invertibility constraint",
                 data=("vectors",), small=dict(num_steps=4),
                 reference="Rezende & Mohamed 2015, Variational Inference with Normalizing Flows, arXiv:1505.05770")
def planar(data_shape, latent_dim=None, num_classes=None, num_steps=16, **kw):
    """Planar flow (Rezende & Mohamed 2015); returns an uncompiled `Flow`."""
    return _parameter_steps("planar", PlanarStep, data_shape, num_classes, num_steps, kw)


@register_preset("radial", "flow", "Radial flow: 32 radial steps with the invertibility constraint",
                 data=("vectors",), small=dict(num_steps=4),
                 reference="Rezende & Mohamed 2015, Variational Inference with Normalizing Flows, arXiv:1505.05770")
def radial(data_shape, latent_dim=None, num_classes=None, num_steps=32, **kw):
    """Radial flow (Rezende & Mohamed 2015); returns an uncompiled `Flow`."""
    return _parameter_steps("radial", RadialStep, data_shape, num_classes, num_steps, kw)


@register_preset("lu-leaky", "flow", "Elementwise/linear flow: LU-decomposed linear steps between leaky ReLUs",
                 data=("vectors",), small=dict(num_steps=2),
                 reference="Oliva et al. 2018, Transformation Autoregressive Networks (leaky-ReLU flows), arXiv:1801.09819; Kingma & Dhariwal 2018 (LU parameterisation)")
def lu_leaky(data_shape, latent_dim=None, num_classes=None, num_steps=6, **kw):
    """`num_steps` pairs (LU linear, leaky ReLU) and a final LU linear step; returns an uncompiled `Flow`."""
    if num_classes:
        raise ValueError("preset 'lu-leaky' takes no labels (its steps have no conditioner)")
    dim = _event_dim("lu-leaky", data_shape)
    kw.pop("hidden", None)
    steps = []
    for i in range(num_steps):
        steps += [LULinearStep(dim, permutation_seed=i, name=f"linear_{i}"),
                  LeakyReLUStep(dim, name=f"leaky_{i}")]
    steps.append(LULinearStep(dim, permutation_seed=num_steps, name=f"linear_{num_steps}"))
    return _flow("lu-leaky", data_shape, steps, None, **kw)


@register_preset("residual", "flow", "Residual flow: 4 spectrally normalised residual steps, roulette log-det",
                 data=("vectors",), small=dict(num_steps=2, hidden=(16, 16)),
                 reference="Chen et al. 2019, Residual Flows for Invertible Generative Modeling, arXiv:1906.02735; Behrmann et al. 2019 (i-ResNet)")
def residual(data_shape, latent_dim=None, num_classes=None, num_steps=4, hidden=(64, 64), coeff=0.9,
             estimator="roulette", **kw):
    """i-ResNet / Residual Flow steps and a final elementwise scale; returns an uncompiled `Flow`."""
    if num_classes:
        raise ValueError("preset 'residual' takes no labels")
    dim = _event_dim("residual", data_shape)
    steps = [ResidualStep(dim, hidden=hidden, coeff=coeff, estimator=estimator, name=f"residual_{i}")
             for i in range(num_steps)]
    return _flow("residual", data_shape, steps + [ScaleStep(dim, name="scale")], None, **kw)


@register_preset("ffjord", "flow", "FFJORD: one continuous-time step, tanh MLP dynamics, Hutchinson traces",
                 data=("vectors",), small=dict(hidden=(16, 16), tolerance=1e-3, export_steps=8),
                 reference="Grathwohl et al. 2019, FFJORD: Free-form Continuous Dynamics, arXiv:1810.01367")
def ffjord(data_shape, latent_dim=None, num_classes=None, num_steps=1, hidden=(64, 64), tolerance=1e-5,
           export_steps=32, **kw):
    """FFJORD (Grathwohl et al. 2019) on vectors; returns an uncompiled `Flow`."""
    if num_classes:
        raise ValueError("preset 'ffjord' takes no labels")
    dim = _event_dim("ffjord", data_shape)
    steps = [FFJORDStep(dim, hidden=hidden, tolerance=tolerance, export_steps=export_steps, name=f"ffjord_{i}")
             for i in range(num_steps)]
    return _flow("ffjord", data_shape, steps, None, **kw)
