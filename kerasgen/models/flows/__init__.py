"""The flow family: `Flow` over a TFP `TransformedDistribution`, its steps, and presets.

One module per flow family, each with its steps, TFP bijectors and conditioner networks:
`coupling` (NICE, RealNVP, neural spline flows), `autoregressive` (MAF, IAF on a MADE),
`linear` (scale, elementwise spline, ActNorm, LU-linear, invertible 1x1 convolution, leaky ReLU), `planar` (planar,
radial), `residual` (i-ResNet / Residual Flows), `continuous` (FFJORD) and `multiscale` (logit,
squeeze, factor-out, flatten); the base classes are in `step`.
"""

from kerasgen.models.flows import presets
from kerasgen.models.flows.autoregressive import AutoregressiveStep
from kerasgen.models.flows.continuous import FFJORDStep
from kerasgen.models.flows.coupling import CouplingStep, ImageCouplingStep
from kerasgen.models.flows.flow import Flow
from kerasgen.models.flows.linear import (ActNormStep, ElementwiseSplineStep, InvertibleConv1x1Step, LeakyReLUStep,
                                         LULinearStep, ScaleStep)
from kerasgen.models.flows.multiscale import FactorOutStep, FlattenStep, LogitStep, SqueezeStep
from kerasgen.models.flows.planar import PlanarStep, RadialStep
from kerasgen.models.flows.residual import ResidualStep
from kerasgen.models.flows.step import FlowStep, ImageStep

__all__ = ["Flow", "FlowStep", "AutoregressiveStep", "CouplingStep", "ElementwiseSplineStep", "FFJORDStep", "LeakyReLUStep", "LULinearStep", "PlanarStep",
           "RadialStep", "ResidualStep", "ScaleStep", "presets",
           "ImageStep", "ImageCouplingStep", "ActNormStep", "InvertibleConv1x1Step", "LogitStep", "SqueezeStep",
           "FactorOutStep", "FlattenStep"]
