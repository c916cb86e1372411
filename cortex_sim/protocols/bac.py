"""BAC firing of the two-compartment neuron: soma only, apical only, and paired (Larkum 1999).

Three neurons in one group and one run: a somatic current pulse (Hay et al. 2011: 1.9 nA for
5 ms), an apical current pulse, and both. Expected (Larkum et al. 1999; Naud & Sprekeler 2018): 1 spike / 0 spikes / a burst
(>= 2, typically 3 spikes) riding on a dendritic plateau that appears only when paired.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import Network, SpikeMonitor, StateMonitor, TimedArray, mV, ms, nA

from ..devices import activate, run_network
from ..errors import ParameterError, check_quantity
from ..models import build_neuron_group, two_compartment
from ..params import TwoCompartmentParams, check_dt

__all__ = ["run_bac", "BACResult", "CONDITIONS"]

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
    """
    model = two_compartment(params, dt=dt, soma_current="I_soma(t, i)", dend_current="I_dend(t, i)",
                            method=method)
    p = model.params
    check_dt(dt, p)
    for nm, v in (("soma_amp", soma_amp), ("apical_amp", apical_amp)):
        check_quantity(nm, v, nA)
        if abs(float(v / nA)) > MAX_PULSE_NA:   # 1900 typed in pA for nA: 1.9 uA would still fire and plot
            raise ParameterError(f"{nm}: got {float(v / nA):g} nA; allowed: |{nm}| <= {MAX_PULSE_NA:g} nA "
                                 "(the published pulses are 1.9 and 1 nA; values are in nA, not pA)")
    for nm, v in (("soma_dur", soma_dur), ("apical_dur", apical_dur), ("onset", onset),
                  ("duration", duration)):
        check_quantity(nm, v, ms, positive=nm != "onset", nonnegative=True)
    check_quantity("apical_delay", apical_delay, ms)
    if onset + apical_delay < 0 * ms or onset + max(apical_delay, 0 * ms) + max(soma_dur, apical_dur) > duration:
        raise ParameterError(
            f"apical_delay: got {apical_delay!s}; allowed: both pulses inside [0, duration={duration!s}]")
    n_t = int(round(float(duration / dt)))
    t = np.arange(n_t) * float(dt)
    soma = ((t >= float(onset)) & (t < float(onset + soma_dur))) * float(soma_amp)
    ap0 = onset + apical_delay
    apical = ((t >= float(ap0)) & (t < float(ap0 + apical_dur))) * float(apical_amp)
    zero = np.zeros(n_t)
    I_soma = TimedArray(np.stack([soma, zero, soma], axis=1) * 1e9 * nA, dt=dt, name="bac_I_soma")
    I_dend = TimedArray(np.stack([zero, apical, apical], axis=1) * 1e9 * nA, dt=dt, name="bac_I_dend")
    activate(device, codegen_target=codegen_target)
    G = build_neuron_group(model, 3, name="bac_neurons", dt=dt,
                           namespace={"I_soma": I_soma, "I_dend": I_dend})
    sm = SpikeMonitor(G, name="bac_spikes")
    st = StateMonitor(G, ["v_s", "v_d"], record=True, name="bac_state")
    net = Network(G, sm, st, name="bac_network")
    run_network(net, duration, device=device, project_name="bac")
    v_d = np.asarray(st.v_d / mV)
    trains = sm.spike_trains()
    plateau = (v_d > float(p.plateau_level / mV)).sum(axis=1) * float(dt / ms)
    return BACResult(np.asarray(st.t / ms), np.asarray(st.v_s / mV), v_d,
                     [np.asarray(trains[k] / ms) for k in range(3)], plateau,
                     dict(soma_amp_nA=float(soma_amp / nA), apical_amp_nA=float(apical_amp / nA),
                          apical_delay_ms=float(apical_delay / ms), onset_ms=float(onset / ms)))
