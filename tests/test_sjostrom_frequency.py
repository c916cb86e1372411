"""Sjöström, Turrigiano & Nelson 2001 frequency dependence and the STDP window (Clopath 2010 Fig. 2).

The published protocol (15 groups of 5 pairings, 10 s apart) is compared with the data: RMS over
the 10 conditions below 0.25 (measured 0.229 at dt 0.1 ms, 0.234 at 0.05 ms) and the 0.1 Hz
pre-post point within +-0.05 of no change (data -0.04 +- 0.05). The authors' own schedule and
neuron (ModelDB 144566: 6 post spikes in post-pre groups, 10 groups at 0.1 Hz, reset -49.5 mV,
jumps at the end of the spike) reach RMS <= 0.15 (measured 0.140 at dt 0.1 ms, 0.141 at 0.05 ms;
the authors' model: about 0.14).
"""

import numpy as np
import pytest

from cortex_sim.errors import ParameterError
from cortex_sim.protocols.frequency import SJOSTROM_2001, pairing_times, rms_vs_data, run_frequency, run_window


@pytest.fixture(scope="module")
def full(frequency_full_event):
    return frequency_full_event


@pytest.mark.standalone
@pytest.mark.slow
def test_frequency_dependence_matches_data(full):
    rows = {(r["rate_hz"], r["delta_t_ms"]): r["w_ratio"] - 1 for r in full.rows}
    assert set(rows) == set(SJOSTROM_2001)
    assert abs(rows[(0.1, 10.0)]) <= 0.05
    assert rms_vs_data(full.rows) < 0.25
    pre_post = [rows[(f, 10.0)] for f in (0.1, 10, 20, 40, 50)]
    assert all(b > a for a, b in zip(pre_post, pre_post[1:]))          # LTP grows with rate
    assert all(rows[(f, -10.0)] < -0.2 for f in (0.1, 10, 20))          # post-pre: LTD at low rates
    assert rows[(50.0, -10.0)] > 0.2                                    # ... LTP at 50 Hz
    assert all(r["post_spikes"] == r["pairings"] == r["forced_spikes"] for r in full.rows)  # one per pairing


@pytest.mark.standalone
@pytest.mark.slow
def test_authors_schedule_and_neuron_match_data():
    res = run_frequency(schedule="authors", neuron="clopath2010-code")
    rows = {(r["rate_hz"], r["delta_t_ms"]): r["w_ratio"] - 1 for r in res.rows}
    assert rms_vs_data(res.rows) <= 0.15
    # the post-pre column, where the published schedule misses most (data -0.29/-0.41/-0.34/0.56/0.75)
    post_pre = [rows[(f, -10.0)] for f in (0.1, 10, 20, 40, 50)]
    assert post_pre[0] < -0.2 and post_pre[1] < -0.3 and post_pre[2] < -0.3
    assert 0.1 < post_pre[3] < post_pre[4]
    assert all(r["post_spikes"] == r["forced_spikes"] for r in res.rows)


@pytest.mark.codegen_independent
def test_authors_schedule_times():
    """VoTri.m: post-pre groups get a sixth post spike one period after the fifth; 10 groups at
    0.1 Hz; a group starts every 10 s (or right after a longer group)."""
    pre, post, ends = pairing_times(20.0, -10.0, schedule="authors")
    assert len(pre) == 5 * 15 and len(post) == 6 * 15
    np.testing.assert_allclose(np.diff(pre[::5]), 10.0)
    np.testing.assert_allclose(post[5] - pre[4], 0.040)         # 50 ms period - 10 ms
    pre, post, _ = pairing_times(20.0, 10.0, schedule="authors")
    assert len(post) == len(pre) == 75
    pre, post, _ = pairing_times(0.1, -10.0, schedule="authors")
    assert len(pre) == 50 and len(post) == 60
    np.testing.assert_allclose(np.diff(pre[::5]), 50.011)       # 5 x 10 s + 10 ms + 1 ms, not padded
    pre, post, _ = pairing_times(20.0, -10.0, schedule="sjostrom")
    assert len(post) == len(pre) == 75
    np.testing.assert_allclose(np.diff(pre[::5]), 10.25)        # 10 s after the end of a 250 ms group


@pytest.mark.standalone
def test_stdp_window_shape():
    res = run_window(delta_ts=(-15, -10, -5, 5, 10, 15), n_groups=3)
    dw = {r["delta_t_ms"]: r["w_ratio"] - 1 for r in res.rows}
    assert all(dw[d] > 0 for d in (5, 10, 15))      # pre before post: LTP
    assert all(dw[d] < 0 for d in (-15, -10, -5))   # post before pre: LTD
    assert dw[5] > dw[10] > dw[15]                  # decays with |delta t|
    assert all(abs(r["measured_delta_t_ms"] - r["delta_t_ms"]) < 0.15 for r in res.rows)


@pytest.mark.codegen_independent
@pytest.mark.parametrize("kwargs,word", [
    (dict(rates=(-1.0,)), "rate_hz"),
    (dict(rates=(60.0,)), "delta_t_ms"),     # 10 ms is more than half the 60 Hz period
    (dict(n_groups=0), "n_groups"),
    (dict(rates=()), "conditions"),
])
def test_bad_input(kwargs, word):
    with pytest.raises(ParameterError, match=word):
        run_frequency(**kwargs)
