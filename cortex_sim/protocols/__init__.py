"""Virtual experiments: functions from parameters to result objects (no plotting here).

- :func:`run_pairing`: the Grewe-lab pairing experiment (the main job; swept by
  :func:`cortex_sim.sweeps.sweep_pairing`);
- :func:`run_frequency`, :func:`run_window`, :func:`run_spike_pairs`: Sjöström's frequency
  dependence, the STDP window, any spike-pair protocol;
- :func:`run_clamp`: voltage clamp, dw per presynaptic spike;
- :func:`run_bac`: BAC firing of the two-compartment neuron.
"""

from .bac import BACResult, run_bac
from .clamp import ClampResult, run_clamp
from .frequency import SCHEDULES, SJOSTROM_2001, PairsResult, run_frequency, run_spike_pairs, run_window  # noqa: F401
from .pairing import SWEEPABLE, PairingConfig, PairingProtocol, PairingResult, run_pairing  # noqa: F401

__all__ = ["run_pairing", "PairingConfig", "PairingResult", "PairingProtocol", "run_frequency", "run_window",
           "run_spike_pairs", "PairsResult", "run_bac", "BACResult", "run_clamp", "ClampResult"]
