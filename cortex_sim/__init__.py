"""cortex_sim: two-compartment neurons, Clopath plasticity and broadcast-gated learning on Brian2.

Layers (data flows one way): parameters (:mod:`cortex_sim.params`) -> models
(:mod:`cortex_sim.models`) and rules (:mod:`cortex_sim.plasticity`) -> networks on a device
(:mod:`cortex_sim.devices`) -> protocols (:mod:`cortex_sim.protocols`) -> results -> figures
(:mod:`cortex_sim.plotting`) and the ``cortex-sim`` command (:mod:`cortex_sim.cli`).

The protocols, the learning study and the benchmark are importable from here::

    from cortex_sim import PairingConfig, run_pairing
    result = run_pairing(PairingConfig(n_pairings=8))
    print(result.conditions["paired"]["epsp_ratio"])     # 1.25: the paired pathway potentiates
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
from .errors import RunInterrupted  # noqa: E402
from .protocols import (  # noqa: E402
    PairingConfig,
    run_bac,
    run_clamp,
    run_frequency,
    run_pairing,
    run_spike_pairs,
    run_window,
)
from .sweeps import sweep_pairing  # noqa: E402
from .plasticity.broadcast import Broadcast  # noqa: E402
from .learning.study import run_study  # noqa: E402
from .bench import bench_clopath  # noqa: E402

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
    "RunInterrupted",
    "PairingConfig",
    "run_pairing",
    "sweep_pairing",
    "run_frequency",
    "run_window",
    "run_spike_pairs",
    "run_clamp",
    "run_bac",
    "Broadcast",
    "run_study",
    "bench_clopath",
]
