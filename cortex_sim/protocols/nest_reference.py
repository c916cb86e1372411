"""The spike-pairing protocol in NEST 3.10, the independent reference (test extra).

``aeif_psc_delta_clopath`` + ``clopath_synapse``, presynaptic spikes from a ``spike_generator``
through a ``parrot_neuron`` (as in NEST's ``clopath_synapse_spike_pairing.py`` example),
postsynaptic spikes forced by a ``step_current_generator``. Parameters are NEST's defaults except
V_th_max = -30.4 mV (the sign typo fixed), mirrored by cortex_sim's 'nest' AdEx and Clopath presets.
"""

from __future__ import annotations

import numpy as np

from ..errors import DeviceUnavailableError

__all__ = ["nest_spike_pairs"]


def nest_spike_pairs(pre_times_s, pulse_times_s, *, pulse_amp_pA, pulse_dur_ms, w0, delay_ms=0.1,
                     dt_ms=0.1, readout_s=(), t_end_s=None):
    """Run one pairing condition in NEST; return (weights at ``readout_s``, post spike times in s).

    Pulse onsets are given as in cortex_sim (the drive spike time); NEST's current generator
    changes the current at the given times, effective from the next step, so the NEST pulse is
    set to [onset, onset + pulse_dur) with a one-step connection delay, which makes the current
    act on the same pulse_dur/dt steps as cortex_sim's step-exact pulse.
    """
    try:
        import nest
    except ImportError as exc:
        raise DeviceUnavailableError("nest-simulator is not installed (pip install nest-simulator==3.10.0)") from exc
    if hasattr(nest, "VerbosityLevel"):  # NEST >= 3.9
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:  # pragma: no cover
        nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.resolution = dt_ms
    nrn = nest.Create("aeif_psc_delta_clopath", params={"V_th_max": -30.4})
    # NEST treats the synaptic delay as dendritic: the rule sees a presynaptic spike emitted at t
    # at t - delay on the postsynaptic time axis (LTD reads u_bar_minus there, the trace starts
    # there). The parrot therefore emits at t_pre + delay, so that the rule sees t_pre, as
    # cortex_sim's synapse without delay does (the PSP then arrives 2 delays later in NEST).
    emit_ms = np.asarray(pre_times_s) * 1e3 + delay_ms
    sg = nest.Create("spike_generator", params={
        "spike_times": np.round((emit_ms - dt_ms) / dt_ms) * dt_ms})
    parrot = nest.Create("parrot_neuron")
    nest.Connect(sg, parrot, syn_spec={"delay": dt_ms})
    nest.Connect(parrot, nrn, syn_spec={"synapse_model": "clopath_synapse", "weight": w0,
                                        "delay": delay_ms, "Wmax": 100.0})
    times, values = [], []
    for t0 in np.asarray(pulse_times_s) * 1e3:
        times += [t0, t0 + pulse_dur_ms]
        values += [pulse_amp_pA, 0.0]
    cg = nest.Create("step_current_generator", params={
        "amplitude_times": np.round(np.asarray(times) / dt_ms) * dt_ms, "amplitude_values": values})
    nest.Connect(cg, nrn, syn_spec={"delay": dt_ms})
    sr = nest.Create("spike_recorder")
    nest.Connect(nrn, sr)
    conn = nest.GetConnections(parrot, nrn)
    weights, t_now = [], 0.0
    for t in sorted(readout_s):
        nest.Simulate(t * 1e3 - t_now)
        t_now = t * 1e3
        weights.append(float(conn.get("weight")))
    if t_end_s is not None and t_end_s * 1e3 > t_now:
        nest.Simulate(t_end_s * 1e3 - t_now)
    return np.asarray(weights), np.asarray(sr.get("events")["times"]) / 1e3
