"""BAC firing of the two-compartment neuron: soma only, apical only, and paired (Larkum 1999).

Three neurons in one group and one run: a somatic current pulse (Hay et al. 2011: 1.9 nA for
5 ms), an apical current pulse, and both. Expected (Larkum et al. 1999; Naud & Sprekeler 2018): 1 spike / 0 spikes / a burst
(>= 2, typically 3 spikes) riding on a dendritic plateau that appears only when paired.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import Network, SpikeMonitor, StateMonitor, TimedArray, mV, ms, nA

from ..errors import ParameterError, check_quantity
from ..experiment import Built, Protocol, monitor_array, run
from ..models import build_neuron_group, two_compartment
from ..params import TwoCompartmentParams, check_dt

__all__ = ["run_bac", "BACResult"]

CONDITIONS = ("soma_only", "apical_only", "paired")


@dataclass
class BACResult:
    """Spike counts, plateau durations and voltage traces of the three conditions."""

    t_ms: np.ndarray
    v_s_mV: np.ndarray          # (3, T)
    v_d_mV: np.ndarray          # (3, T)
    spike_times_ms: list
    plateau_ms: np.ndarray      # (3,)
    stim: dict

    def to_dict(self):
        return {c: {"n_spikes": int(len(self.spike_times_ms[k])),
                    "plateau_ms": float(self.plateau_ms[k])} for k, c in enumerate(CONDITIONS)}


#: the largest current pulse a two-compartment cortical neuron model can mean (nA): ten times the
#: published somatic pulse; beyond it the input is almost surely in the wrong unit
MAX_PULSE_NA = 20.0


def run_bac(params: TwoCompartmentParams | str = "naud2018", *, soma_amp=1.9 * nA, soma_dur=5 * ms,
            apical_amp=1.0 * nA, apical_dur=5 * ms, apical_delay=0 * ms, onset=50 * ms,
            duration=200 * ms, dt=0.1 * ms, device="runtime", codegen_target="numpy",
            method="rk4_exact") -> BACResult:
    """Run the BAC protocol and measure spikes and plateaus.

    Parameters
    ----------
    apical_delay : Quantity
        Onset of the apical pulse relative to the somatic pulse (may be negative).
    method : str
        Integrator (the spiking learner uses 'euler' at 0.2 ms).

    Examples
    --------
    >>> res = run_bac()                         # soma 1.9 nA for 5 ms, apical 1 nA at the same time
    >>> res.to_dict()
    {'soma_only': {'n_spikes': 1, 'plateau_ms': 0.0}, 'apical_only': {'n_spikes': 0, 'plateau_ms': 0.0},
     'paired': {'n_spikes': 3, 'plateau_ms': 32.0}}
    """
    protocol = BACProtocol(params, soma_amp=soma_amp, soma_dur=soma_dur, apical_amp=apical_amp, apical_dur=apical_dur,
                           apical_delay=apical_delay, onset=onset, duration=duration, dt=dt, method=method)
    return run(protocol, device=device, codegen_target=codegen_target)[0]


class BACProtocol(Protocol):
    """The BAC protocol as a :class:`~cortex_sim.experiment.Protocol` (parameters as :func:`run_bac`).

    The apical pulse's amplitude and delay are run-time values (the current tables are data), so
    a compiled BAC experiment is re-run for other pulses without recompiling.
    """

    name = "bac"
    sweepable = {"apical_amp": nA, "apical_delay": ms}

    def __init__(self, params: TwoCompartmentParams | str = "naud2018", *, soma_amp=1.9 * nA, soma_dur=5 * ms,
                 apical_amp=1.0 * nA, apical_dur=5 * ms, apical_delay=0 * ms, onset=50 * ms, duration=200 * ms,
                 dt=0.1 * ms, method="rk4_exact"):
        self.params, self.dt, self.method = params, dt, method
        self.soma_amp, self.soma_dur, self.apical_dur = soma_amp, soma_dur, apical_dur
        self.onset, self.duration = onset, duration
        self.apical_amp, self.apical_delay = apical_amp, apical_delay
        self._model = two_compartment(params, dt=dt, soma_current="I_soma(t, i)", dend_current="I_dend(t, i)",
                                     method=method)
        check_dt(dt, self._model.params)
        for nm, v in (("soma_dur", soma_dur), ("apical_dur", apical_dur), ("onset", onset),
                      ("duration", duration)):
            check_quantity(nm, v, ms, positive=nm != "onset", nonnegative=True)
        self._currents(apical_amp, apical_delay)

    def _currents(self, apical_amp, apical_delay):
        """The somatic and dendritic current tables (A, time x 3 neurons), checked."""
        soma_amp, onset, duration, dt = self.soma_amp, self.onset, self.duration, self.dt
        for nm, v in (("soma_amp", soma_amp), ("apical_amp", apical_amp)):
            check_quantity(nm, v, nA)
            if abs(float(v / nA)) > MAX_PULSE_NA:   # 1900 typed in pA for nA: 1.9 uA would still fire and plot
                raise ParameterError(f"{nm}: got {float(v / nA):g} nA; allowed: |{nm}| <= {MAX_PULSE_NA:g} nA "
                                     "(the published pulses are 1.9 and 1 nA; values are in nA, not pA)")
        check_quantity("apical_delay", apical_delay, ms)
        if onset + apical_delay < 0 * ms or \
                onset + max(apical_delay, 0 * ms) + max(self.soma_dur, self.apical_dur) > duration:
            raise ParameterError(
                f"apical_delay: got {apical_delay!s}; allowed: both pulses inside [0, duration={duration!s}]")
        n_t = int(round(float(duration / dt)))
        t = np.arange(n_t) * float(dt)
        soma = ((t >= float(onset)) & (t < float(onset + self.soma_dur))) * float(soma_amp)
        ap0 = onset + apical_delay
        apical = ((t >= float(ap0)) & (t < float(ap0 + self.apical_dur))) * float(apical_amp)
        zero = np.zeros(n_t)
        return np.stack([soma, zero, soma], axis=1), np.stack([zero, apical, apical], axis=1)

    def _values(self, values):
        return (values["apical_amp"] * nA if "apical_amp" in values else self.apical_amp,
                values["apical_delay"] * ms if "apical_delay" in values else self.apical_delay)

    def check_values(self, values):
        values = super().check_values(values)
        self._currents(*self._values(values))
        return values

    def build(self):
        soma, dend = self._currents(self.apical_amp, self.apical_delay)
        I_soma = TimedArray(soma * 1e9 * nA, dt=self.dt, name="bac_I_soma")
        I_dend = TimedArray(dend * 1e9 * nA, dt=self.dt, name="bac_I_dend")
        G = build_neuron_group(self._model, 3, name="bac_neurons", dt=self.dt,
                               namespace={"I_soma": I_soma, "I_dend": I_dend})
        sm = SpikeMonitor(G, name="bac_spikes")
        st = StateMonitor(G, ["v_s", "v_d"], record=True, name="bac_state")
        outputs = {"t": st.variables["t"], "v_s": st.variables["v_s"], "v_d": st.variables["v_d"],
                   "spike_i": sm.variables["i"], "spike_t": sm.variables["t"]}
        return Built(Network(G, sm, st, name="bac_network"), self.duration, inputs={"I_dend": I_dend},
                     outputs=outputs)

    def run_args(self, built, values):
        return {"I_dend": self._currents(*self._values(values))[1]}

    def analyse(self, built, raw, values):
        apical_amp, apical_delay = self._values(values)
        t = raw["t"]
        v_s, v_d = (monitor_array(raw, k, len(t), 3) * 1e3 for k in ("v_s", "v_d"))
        p = self._model.params
        plateau = (v_d > float(p.plateau_level / mV)).sum(axis=1) * float(self.dt / ms)
        spikes = [raw["spike_t"][raw["spike_i"] == k] * 1e3 for k in range(3)]
        return BACResult(t * 1e3, v_s, v_d, spikes, plateau,
                         dict(soma_amp_nA=float(self.soma_amp / nA), apical_amp_nA=float(apical_amp / nA),
                              apical_delay_ms=float(apical_delay / ms), onset_ms=float(self.onset / ms)))

    def row(self, result):
        return {f"{c}_{k}": float(v) for c, d in result.to_dict().items() for k, v in d.items()}
