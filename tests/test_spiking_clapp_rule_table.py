"""The spiking CLAPP rule table: one two-compartment neuron, one plastic basal pathway,
pre and post active, in the four cases (same image / saccade) x (apical prediction present / absent).
(M = 0 freezing every weight: tests/test_broadcast_gate.py; here a closed gate in the eligibility
form, which also serves as the burst check with weights fixed at w0.)

The lecture's CLAPP rule, dw ~ y (W_pred c)_i rho'(a_i) x_j, in its spiking form (Illing et al. 2021, NeurIPS; the spiking counterparts of its terms):
a basal volley makes the neuron fire (pre and post active); the apical prediction is a constant
apical current during the trial (0.4 nA: below the ~0.6 nA that fires a plateau alone), which
turns the spike into a burst on a plateau; the broadcast M multiplies every Clopath update
(accumulator form, as the learner uses). Expected, with tolerances:
- same image (M = +1) + prediction: LTP, mean dw > +0.02 over 8 trials (measured +0.127, a burst of
  4 spikes per trial);
- saccade (M = -1) + prediction: LTD, mean dw < -0.02 (measured -0.063; not the mirror image:
  as the weights fall the volley drives the neuron less and the bursts shrink to 2 spikes);
- no prediction (one isolated spike per trial): |dw| < 15 % of the predicted case (measured
  +-0.0045, 4 % and 7 %), as the pairing experiment's "spike alone" (Sjöström 2001: 0.96 +- 0.05 at 0.1 Hz);

The learner's form with an eligibility (``eligibility=True``): the Clopath changes of a trial are
collected per synapse and applied at its end multiplied by the third factor M x gate (the hinge
gate of the learner). Expected: the same table as the online form (same signs; each mean dw within
25 % of the online one: the PSP sees the weight change only at the trial's end instead of during
it), and a closed gate (M = +1, gate = 0) changes nothing at all (exactly 0).
"""

import numpy as np
import pytest
from brian2 import Network, SpikeMonitor, mV, ms, nA, second

from cortex_sim.devices import activate, run_network, stable_clock
from cortex_sim.inputs import scheduled_spikes
from cortex_sim.models import build_neuron_group, two_compartment
from cortex_sim.params import preset
from cortex_sim.plasticity import Broadcast
from cortex_sim.plasticity.clopath import clopath_synapses

N_FIBRES = 44            # the pairing experiment's s2: one isolated spike without apical input
TRIALS = np.arange(8) * 1.0 + 0.5   # s


@pytest.fixture(scope="module")
def table():
    dt = 0.1 * ms
    rule = preset("clopath", "visual")
    activate("cpp")
    model = two_compartment("naud2018", dt=dt, dend_current="I_pred*int(t - t_trial >= 0*ms)*int(t - t_trial < 100*ms)")
    objs, cases = [], {}
    fibres = [TRIALS.copy() for _ in range(N_FIBRES)]
    trial_clock = stable_clock(1 * second, "rt_trial_clock")
    cases_spec = [(name, m, False) for name, m in (("same", 1.0), ("saccade", -1.0))]
    cases_spec += [(name, f, True) for name, f in (("elig_same", 1.0), ("elig_saccade", -1.0), ("elig_gated", 0.0))]
    for m_name, m, elig in cases_spec:
        G = build_neuron_group(model, 2, name=f"rt_{m_name}", dt=dt, plasticity=rule, accumulator=True,
                               extra_equations="I_pred : amp  # apical prediction\n"
                                               "t_trial : second  # start of the current trial")
        G.I_pred = [0.4, 0.0] * nA                  # neuron 0: prediction present, neuron 1: absent
        G.run_regularly("t_trial = floor((t - 0.5*second)/second)*second + 0.5*second - 5*ms",
                        dt=1 * ms, name=f"rt_{m_name}_trial")
        pre = scheduled_spikes(fibres + fibres, name=f"rt_pre_{m_name}", dt=dt)
        post_idx = np.repeat([0, 1], N_FIBRES)
        extra = dict(eligibility=True, rebase_steps=2500) if elig else {}   # 250 ms: divides the 1 s trial period
        syn = clopath_synapses(pre, G, rule, name=f"rt_syn_{m_name}", dt=dt, voltage="v_s",
                               input_gate=model.input_gate, psp_scale=1 * mV, w0=0.5, delay=1 * ms,
                               connect=(np.arange(2 * N_FIBRES), post_idx), formulation="accumulator",
                               broadcast=Broadcast.constant(1.0 if elig else m), **extra)
        if elig:   # the third factor (M x gate) at the end of every trial (the start of every second)
            syn.synapses.namespace["factor"] = m
            syn.synapses.run_regularly("w = clip(w + factor*e_syn, w_min, w_max)\ne_syn = 0", clock=trial_clock,
                                       when="groups", name=f"rt_apply_{m_name}")
        sm = SpikeMonitor(G, name=f"rt_spikes_{m_name}")
        objs += [G, pre, *syn.objects, sm]
        cases[m_name] = (syn, sm)
    run_network(Network(*objs, name="rt_net"), (TRIALS[-1] + 1) * second, device="cpp", project_name="rule_table")
    out = {}
    for m_name, (syn, sm) in cases.items():
        dw = (np.asarray(syn.synapses.w[:]) if m_name.startswith("elig") else syn.weights()) - 0.5
        counts = np.bincount(np.asarray(sm.i[:]), minlength=2)
        out[m_name] = {"pred": dw[:N_FIBRES].mean(), "none": dw[N_FIBRES:].mean(), "spikes": counts}
    return out


@pytest.mark.standalone
def test_prediction_turns_the_spike_into_a_burst(table):
    spikes = table["elig_gated"]["spikes"]          # gate closed: the weights stay at w0 throughout
    assert spikes[1] == len(TRIALS)                 # no prediction: one spike per trial
    assert spikes[0] >= 2 * len(TRIALS)              # prediction: a burst per trial


@pytest.mark.standalone
def test_rule_table_signs(table):
    assert table["same"]["pred"] > 0.02              # same image + predicted: LTP
    assert table["saccade"]["pred"] < -0.02          # saccade + predicted: LTD
    for m in ("same", "saccade"):                    # no prediction: little or none
        assert abs(table[m]["none"]) < 0.15 * abs(table[m]["pred"])


@pytest.mark.standalone
def test_eligibility_form_gives_the_same_table_applied_at_the_trial_end(table):
    for m in ("same", "saccade"):
        online, elig = table[m], table[f"elig_{m}"]
        assert np.sign(elig["pred"]) == np.sign(online["pred"])
        assert elig["pred"] == pytest.approx(online["pred"], rel=0.25)
        assert abs(elig["none"]) < 0.15 * abs(elig["pred"])
    assert table["elig_gated"]["pred"] == 0.0 and table["elig_gated"]["none"] == 0.0   # gate closed: nothing
