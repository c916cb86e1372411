"""The three formulations of the Clopath rule (naive, event, accumulator) agree on every protocol:
the pairing experiment, Sjöström's frequency protocol and the STDP window.

Tolerance 1e-9 relative on every final weight (float reordering only; the forms share one
discretisation, see cortex_sim/plasticity/clopath.py) and identical postsynaptic spikes. The full
protocols (10 s between trials and groups: seconds of presynaptic silence, where the accumulator
form used to lose pending LTP) compare event and accumulator; naive, the slow reference, runs
the shorter variants.
"""

import numpy as np
import pytest
from conftest import fast_pairing_config

from cortex_sim.protocols.frequency import run_frequency, run_window
from cortex_sim.protocols.pairing import PairingConfig, run_pairing


def _same_pairing(a, b):
    np.testing.assert_allclose(b.final_weights, a.final_weights, rtol=1e-9)
    assert np.abs(a.final_weights - 0.5).max() > 0.05            # the weights moved
    assert a.conditions["paired"]["spikes_per_trial"] == b.conditions["paired"]["spikes_per_trial"]
    assert a.conditions["paired"]["epsp_ratio"] == pytest.approx(b.conditions["paired"]["epsp_ratio"], rel=1e-9)


@pytest.mark.standalone
@pytest.mark.slow
def test_pairing_full_protocol_event_equals_accumulator():
    cfg = PairingConfig(window_delays=(), pairing_counts=())   # the full protocol: 10 s between trials
    _same_pairing(run_pairing(cfg, formulation="event", record_traces=False),
                  run_pairing(cfg, formulation="accumulator", record_traces=False))


@pytest.mark.standalone
def test_pairing_naive_equals_event(pairing_fast_event):
    _same_pairing(pairing_fast_event, run_pairing(fast_pairing_config(), formulation="naive"))


def _same_pairs(a, b):
    wa = np.array([r["w_ratio"] for r in a.rows])
    np.testing.assert_allclose([r["w_ratio"] for r in b.rows], wa, rtol=1e-9)
    assert np.abs(wa - 1).max() > 0.02                           # the weights moved
    for x, y in zip(a.spike_times_s, b.spike_times_s):
        assert np.array_equal(x, y)


@pytest.mark.standalone
@pytest.mark.slow
def test_frequency_full_protocol_event_equals_accumulator(frequency_full_event):
    _same_pairs(frequency_full_event, run_frequency(formulation="accumulator"))


@pytest.mark.standalone
def test_frequency_and_window_three_forms():
    # frequency: event against naive (event against accumulator is the full-protocol test above)
    kw = dict(n_groups=2, rates=(0.1, 20.0, 50.0))
    _same_pairs(run_frequency(formulation="event", **kw), run_frequency(formulation="naive", **kw))
    kw = dict(n_groups=2, delta_ts=(-10.0, -3.0, 3.0, 10.0))
    event = run_window(formulation="event", **kw)
    for form in ("naive", "accumulator"):
        _same_pairs(event, run_window(formulation=form, **kw))
