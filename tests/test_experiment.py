"""One shape for every experiment (cortex_sim.experiment): a protocol compiled once and re-run with
run-time values gives what separate builds give, survives other builds in the same process, and
is swept by the engine through protocol_job without an engine edit."""

import numpy as np
import pytest
from brian2 import ms

from cortex_sim.errors import ParameterError, UnknownNameError
from cortex_sim.experiment import CompiledExperiment, run
from cortex_sim.protocols.bac import BACProtocol, run_bac
from cortex_sim.protocols.clamp import ClampProtocol


@pytest.mark.standalone
def test_a_compiled_protocol_rerun_with_new_values_equals_separate_builds():
    with CompiledExperiment(BACProtocol()) as exp:
        first = exp.run({"apical_delay": 10})
        run_clamp_between = run(ClampProtocol(n_points=3), device="runtime")[0]   # resets Brian2's device
        assert run_clamp_between.dw_per_spike.shape == (3,)
        again = {d: exp.run({"apical_delay": d}) for d in (0.0, 10.0)}
    assert again[10.0].to_dict() == first.to_dict()        # unaffected by the build in between
    for d, res in again.items():   # Naud & Sprekeler 2018 model: burst only when the pulses coincide
        separate = run_bac(apical_delay=d * ms)           # runtime device, its own build
        assert res.to_dict() == separate.to_dict(), d
        np.testing.assert_allclose(res.v_s_mV, separate.v_s_mV, atol=1e-6)   # mV, C++ vs NumPy code
    assert again[0.0].to_dict()["paired"]["n_spikes"] >= 2 > again[10.0].to_dict()["paired"]["n_spikes"]


@pytest.mark.codegen_independent
def test_run_time_values_are_checked_before_any_run():
    p = BACProtocol()
    with pytest.raises(UnknownNameError, match="apical_dela"):
        p.check_values({"apical_dela": 1.0})
    with pytest.raises(ParameterError, match="finite"):
        p.check_values({"apical_delay": float("nan")})
    with pytest.raises(ParameterError, match="apical_delay"):   # the pulse would leave the simulated time
        p.check_values({"apical_delay": 500.0})
    assert p.check_values({"apical_delay": 5 * ms}) == {"apical_delay": pytest.approx(5.0)}
    # the fields that key a sweep's store: deterministic and complete (no summarised arrays)
    big = ClampProtocol(n_points=2000)
    assert big.fields() == ClampProtocol(n_points=2000).fields()
    assert len(big.fields()["grid"]) == 2000


@pytest.mark.standalone
def test_a_protocol_job_sweeps_without_an_engine_edit(tmp_path):
    from cortex_sim.sweeps import JOBS, run_sweep

    res = run_sweep("bac", {"apical_delay": [0.0, 20.0]}, {}, cluster="serial", store=tmp_path, figure=False)
    assert (res.ran, res.failed) == (2, 0)
    assert res.records[0]["paired_n_spikes"] >= 2 and res.records[1]["paired_n_spikes"] == 1
    assert JOBS["bac"].params[0].name == "apical_amp"
