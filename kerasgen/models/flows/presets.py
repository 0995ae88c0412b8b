"""Flow presets: stacks of steps sized from `data_shape` (vectors), standardising the data.

Every builder takes `num_steps`, `hidden` and, for conditional use, `num_classes`
(labels become the context of every conditioner; planar and radial steps take none).
"""

from __future__ import annotations

from kerasgen.models.flows.flow import Flow
from kerasgen.models.flows import steps as flow_steps
from kerasgen.registry import register_preset

CONTEXT_DIM = 8


def _event_dim(name, data_shape):
    data_shape = tuple(data_shape)
    if len(data_shape) != 1:
        raise ValueError(f"preset {name!r} models vectors (D,); got data_shape {data_shape} "
                         "(image flows are not part of the library yet)")
    return data_shape[0]


def _flow(name, data_shape, steps, num_classes, **kw):
    kw.setdefault("standardize", True)
    return Flow(steps, data_shape=tuple(data_shape), num_classes=num_classes, context_dim=CONTEXT_DIM,
                preset=name, **kw)


def _coupling_flow(name, transform, data_shape, num_classes, num_steps, hidden, final_scale=False, **kw):
    dim = _event_dim(name, data_shape)
    context = CONTEXT_DIM if num_classes else 0
    extra = {k: kw.pop(k) for k in ("num_bins", "bound") if k in kw}
    steps = [flow_steps.CouplingStep(dim, parity=i % 2, transform=transform, hidden=hidden, context_dim=context,
                          name=f"coupling_{i}", **extra) for i in range(num_steps)]
    if final_scale:
        steps.append(flow_steps.ScaleStep(dim, name="scale"))
    return _flow(name, data_shape, steps, num_classes, **kw)


@register_preset("nice", "flow", "NICE: additive coupling steps and a final diagonal scaling")
def nice(data_shape, latent_dim=None, num_classes=None, num_steps=6, hidden=(128, 128), **kw):
    """NICE (Dinh et al. 2015) on vectors; returns an uncompiled `Flow`."""
    return _coupling_flow("nice", "additive", data_shape, num_classes, num_steps, hidden, final_scale=True, **kw)


@register_preset("realnvp", "flow", "RealNVP: affine coupling steps with alternating masks")
def realnvp(data_shape, latent_dim=None, num_classes=None, num_steps=8, hidden=(128, 128), **kw):
    """RealNVP (Dinh et al. 2017) on vectors; returns an uncompiled `Flow`."""
    return _coupling_flow("realnvp", "affine", data_shape, num_classes, num_steps, hidden, **kw)


@register_preset("nsf", "flow", "Neural spline flow: rational-quadratic spline coupling, 8 bins on [-4, 4]")
def nsf(data_shape, latent_dim=None, num_classes=None, num_steps=4, hidden=(128, 128), **kw):
    """Coupling neural spline flow (Durkan et al. 2019) on vectors; returns an uncompiled `Flow`."""
    return _coupling_flow("nsf", "spline", data_shape, num_classes, num_steps, hidden, **kw)


def _autoregressive(name, data_shape, num_classes, num_steps, hidden, inverse, **kw):
    dim = _event_dim(name, data_shape)
    context = CONTEXT_DIM if num_classes else 0
    steps = [flow_steps.AutoregressiveStep(dim, hidden=hidden, reverse=i % 2 == 1, inverse=inverse,
                                           context_dim=context, name=f"autoregressive_{i}") for i in range(num_steps)]
    return _flow(name, data_shape, steps, num_classes, **kw)


@register_preset("maf", "flow", "MAF: masked autoregressive affine steps (fast density, sequential sampling)")
def maf(data_shape, latent_dim=None, num_classes=None, num_steps=5, hidden=(128, 128), **kw):
    """Masked autoregressive flow (Papamakarios et al. 2017); returns an uncompiled `Flow`."""
    return _autoregressive("maf", data_shape, num_classes, num_steps, hidden, inverse=False, **kw)


@register_preset("iaf", "flow", "IAF: inverse autoregressive steps (fast sampling, sequential density)")
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


@register_preset("planar", "flow", "Planar flow: 16 planar steps with the invertibility constraint")
def planar(data_shape, latent_dim=None, num_classes=None, num_steps=16, **kw):
    """Planar flow (Rezende & Mohamed 2015); returns an uncompiled `Flow`."""
    return _parameter_steps("planar", flow_steps.PlanarStep, data_shape, num_classes, num_steps, kw)


@register_preset("radial", "flow", "Radial flow: 32 radial steps with the invertibility constraint")
def radial(data_shape, latent_dim=None, num_classes=None, num_steps=32, **kw):
    """Radial flow (Rezende & Mohamed 2015); returns an uncompiled `Flow`."""
    return _parameter_steps("radial", flow_steps.RadialStep, data_shape, num_classes, num_steps, kw)


@register_preset("lu-leaky", "flow", "Elementwise/linear flow: LU-decomposed linear steps between leaky ReLUs")
def lu_leaky(data_shape, latent_dim=None, num_classes=None, num_steps=6, **kw):
    """`num_steps` pairs (LU linear, leaky ReLU) and a final LU linear step; returns an uncompiled `Flow`."""
    if num_classes:
        raise ValueError("preset 'lu-leaky' takes no labels (its steps have no conditioner)")
    dim = _event_dim("lu-leaky", data_shape)
    kw.pop("hidden", None)
    steps = []
    for i in range(num_steps):
        steps += [flow_steps.LULinearStep(dim, permutation_seed=i, name=f"linear_{i}"),
                  flow_steps.LeakyReLUStep(dim, name=f"leaky_{i}")]
    steps.append(flow_steps.LULinearStep(dim, permutation_seed=num_steps, name=f"linear_{num_steps}"))
    return _flow("lu-leaky", data_shape, steps, None, **kw)


@register_preset("residual", "flow", "Residual flow: 4 spectrally normalised residual steps, roulette log-det")
def residual(data_shape, latent_dim=None, num_classes=None, num_steps=4, hidden=(64, 64), coeff=0.9,
             estimator="roulette", **kw):
    """i-ResNet / Residual Flow steps and a final elementwise scale; returns an uncompiled `Flow`."""
    if num_classes:
        raise ValueError("preset 'residual' takes no labels")
    dim = _event_dim("residual", data_shape)
    steps = [flow_steps.ResidualStep(dim, hidden=hidden, coeff=coeff, estimator=estimator, name=f"residual_{i}")
             for i in range(num_steps)]
    return _flow("residual", data_shape, steps + [flow_steps.ScaleStep(dim, name="scale")], None, **kw)


@register_preset("ffjord", "flow", "FFJORD: one continuous-time step, tanh MLP dynamics, Hutchinson traces")
def ffjord(data_shape, latent_dim=None, num_classes=None, num_steps=1, hidden=(64, 64), tolerance=1e-5, **kw):
    """FFJORD (Grathwohl et al. 2019) on vectors; returns an uncompiled `Flow`."""
    if num_classes:
        raise ValueError("preset 'ffjord' takes no labels")
    dim = _event_dim("ffjord", data_shape)
    steps = [flow_steps.FFJORDStep(dim, hidden=hidden, tolerance=tolerance, name=f"ffjord_{i}")
             for i in range(num_steps)]
    return _flow("ffjord", data_shape, steps, None, **kw)
