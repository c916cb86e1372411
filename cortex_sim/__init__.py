"""cortex_sim: two-compartment neurons, Clopath plasticity and broadcast-gated learning on Brian2.

Layers (data flows one way): parameters (:mod:`cortex_sim.params`) -> models
(:mod:`cortex_sim.models`) and rules (:mod:`cortex_sim.plasticity`) -> networks on a device
(:mod:`cortex_sim.devices`) -> protocols (:mod:`cortex_sim.protocols`) -> results -> figures
(:mod:`cortex_sim.plotting`) and the ``cortex-sim`` command (:mod:`cortex_sim.cli`).
"""

__version__ = "0.1.0"

from .errors import (  # noqa: E402
    CortexSimError,
    DeviceUnavailableError,
    ParameterError,
    SimulationDivergedError,
    UnknownNameError,
)
from .params import AdExParams, ClopathParams, TwoCompartmentParams, preset  # noqa: E402

__all__ = [
    "__version__",
    "AdExParams",
    "ClopathParams",
    "TwoCompartmentParams",
    "preset",
    "CortexSimError",
    "ParameterError",
    "UnknownNameError",
    "DeviceUnavailableError",
    "SimulationDivergedError",
]
