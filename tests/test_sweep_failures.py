"""A sweep point whose simulation diverges (NaN) is one failure that names the variable; the other
points are stored, and the same sweep again runs only the failed point.

The job here is a one-object Job (no engine edit, not registered): its point raises the
SimulationDivergedError that cortex_sim's runners raise on NaN or inf (run_network's check of every
state variable, CompiledProject's check of every output; tests/test_bad_input.py and
tests/test_cache_heals.py test those).
"""

import json

import pytest

from cortex_sim.errors import SimulationDivergedError
from cortex_sim.sweeps import Job, Param, read_store, run_sweep

MESSAGE = "demo.u: got NaN or inf first at t = 0.3 ms; allowed: finite values"


def _point(point, options, workdir):
    if point["x"] == 2:
        raise SimulationDivergedError(MESSAGE)
    return {"y": 2.0 * point["x"]}


JOB = Job("nan_demo", (Param("x", help="a number"),), lambda o: (o, dict(o)), _point, plot="y")


def test_a_diverging_point_is_one_failure_and_a_rerun_runs_only_it(tmp_path, capsys):
    res = run_sweep(JOB, {"x": [1, 2, 3]}, {}, cluster="serial", store=tmp_path, figure=False)
    assert (res.ran, res.skipped, res.failed) == (2, 0, 1)
    assert res.records == [{"y": 2.0}, None, {"y": 6.0}]
    (error,) = res.errors.values()
    assert error == f"SimulationDivergedError: {MESSAGE}"
    assert "point {'x': 2.0} failed: SimulationDivergedError: demo.u" in capsys.readouterr().err
    (failed,) = (tmp_path / "failed").glob("*.json")
    assert MESSAGE in json.dumps(json.loads(failed.read_text()))
    assert len(read_store(tmp_path)) == 2                      # the finished points only
    again = run_sweep(JOB, {"x": [1, 2, 3]}, {}, cluster="serial", store=tmp_path, figure=False)
    assert (again.ran, again.skipped, again.failed) == (0, 2, 1)


def test_a_nan_grid_value_is_refused_before_any_work(tmp_path):
    from cortex_sim.errors import ParameterError

    with pytest.raises(ParameterError, match="x: got nan; allowed: finite numbers"):
        run_sweep(JOB, {"x": [1, float("nan")]}, {}, cluster="serial", store=tmp_path, figure=False)
    assert not (tmp_path / "points").exists()
