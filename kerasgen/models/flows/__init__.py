"""The flow family: `Flow` over a TFP `TransformedDistribution`, its steps, and presets."""

from kerasgen.models.flows import presets
from kerasgen.models.flows.flow import Flow
from kerasgen.models.flows.steps import (
    AutoregressiveStep,
    CouplingStep,
    FlowStep,
    PlanarStep,
    RadialStep,
    ScaleStep,
)

__all__ = ["Flow", "FlowStep", "AutoregressiveStep", "CouplingStep", "PlanarStep", "RadialStep", "ScaleStep",
           "presets"]
