"""The flow family: `Flow` over a TFP `TransformedDistribution`, its steps, and presets."""

from kerasgen.models.flows import presets
from kerasgen.models.flows.flow import Flow
from kerasgen.models.flows.steps import (
    AutoregressiveStep,
    CouplingStep,
    FFJORDStep,
    FlowStep,
    LeakyReLUStep,
    LULinearStep,
    PlanarStep,
    RadialStep,
    ResidualStep,
    ScaleStep,
)

__all__ = ["Flow", "FlowStep", "AutoregressiveStep", "CouplingStep", "FFJORDStep", "LeakyReLUStep", "LULinearStep", "PlanarStep",
           "RadialStep", "ResidualStep", "ScaleStep", "presets"]
