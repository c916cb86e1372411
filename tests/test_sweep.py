"""Compile once, run many (issue 4): a sweep re-runs one compiled project with Brian2 run_args and
gives the same numbers as separate runs; an unchanged model is not recompiled."""

import json
import subprocess
import sys

import pytest
from brian2 import ms, nA, second

from cortex_sim.errors import ParameterError, UnknownNameError
from cortex_sim.protocols.pairing import PairingConfig, run_pairing, sweep_pairing

FAST = dict(trial_interval=1 * second, test_interval=0.5 * second, window_delays=(), pairing_counts=())


@pytest.mark.standalone
def test_sweep_equals_separate_runs_and_reuses_the_project():
    grid = {"apical_delay": [0.0, 5.0], "apical_amp": [1.0, 1.2]}
    rows, info = sweep_pairing(grid, PairingConfig(**FAST))
    assert len(rows) == 4 and len(info["run_s"]) == 4
    for row in rows[::3]:   # two of the four points, run on their own
        single = run_pairing(PairingConfig(**FAST, apical_delay=row["apical_delay"] * ms,
                                           apical_amp=row["apical_amp"] * nA), record_traces=False)
        for cond, c in single.conditions.items():
            assert row[f"{cond}_epsp_ratio"] == pytest.approx(c["epsp_ratio"], rel=1e-12)
    assert rows[0]["paired_epsp_ratio"] > 1.2 > rows[2]["paired_epsp_ratio"]   # delay 0 vs 5 ms at 1 nA
    # the same sweep again: the project is unchanged, nothing is recompiled
    rows2, info2 = sweep_pairing(grid, PairingConfig(**FAST))
    assert info2["project_dir"] == info["project_dir"] and info2["compile_s"] < 1.0
    assert rows2 == rows


@pytest.mark.codegen_independent
def test_sweep_bad_input():
    with pytest.raises(UnknownNameError, match="theta"):
        sweep_pairing({"theta": [1.0]}, PairingConfig(**FAST))
    with pytest.raises(ParameterError, match="grid"):
        sweep_pairing({}, PairingConfig(**FAST))


@pytest.mark.standalone
def test_sweep_cli_json():
    proc = subprocess.run([sys.executable, "-m", "cortex_sim.cli", "sweep", "pairing", "--param",
                           "apical_delay=0,10", "--trial-interval", "1", "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [r["apical_delay"] for r in out["rows"]] == [0.0, 10.0]
    assert out["rows"][0]["paired_epsp_ratio"] > out["rows"][1]["paired_epsp_ratio"]
    assert {"compile_s", "total_s", "per_point_overhead_s"} <= set(out)


@pytest.mark.standalone
def test_interrupted_sweep_resumes_to_identical_rows(tmp_path):
    """A checkpoint holding the first point (as after an interruption) is reused, the rest is run,
    and the rows equal those of an uninterrupted sweep (issue 4); a checkpoint of another model,
    a corrupt line or a row without its columns is an error naming the file (issue 13)."""
    grid = {"apical_delay": [0.0, 5.0, 10.0]}
    ckpt = tmp_path / "sweep.jsonl"
    full, _ = sweep_pairing(grid, PairingConfig(**FAST), checkpoint=ckpt)
    header, *rows = ckpt.read_text().splitlines()
    assert json.loads(header)["fields"]["config"]["dt_ms"] == pytest.approx(0.1)
    first = next(r for r in rows if json.loads(r)["apical_delay"] == 0.0)
    ckpt.write_text(header + "\n" + first + "\n" + '{"apical_delay": 5.0, "torn')   # torn last line
    resumed, info = sweep_pairing(grid, PairingConfig(**FAST), checkpoint=ckpt)
    assert info["run_s"][0] != info["run_s"][0]          # NaN: point 0 was not run again
    assert resumed == full
    lines = [json.loads(ln) for ln in ckpt.read_text().splitlines()[1:]]   # torn line dropped
    assert sorted(r["apical_delay"] for r in lines) == [0.0, 5.0, 10.0]
    # the same checkpoint at another dt: refused before any run, naming the file and the field
    with pytest.raises(ParameterError, match=r"sweep.jsonl.*config.dt_ms \(0.1 in the file, 1.0 now\)"):
        sweep_pairing(grid, PairingConfig(**FAST, dt=1 * ms), checkpoint=ckpt)
    good = ckpt.read_text()
    ckpt.write_text(good + "not json\n")
    with pytest.raises(ParameterError, match=r"sweep.jsonl' line 5 is not valid JSON"):
        sweep_pairing(grid, PairingConfig(**FAST), checkpoint=ckpt)
    ckpt.write_text(good + '{"apical_delay": 20.0}\n')
    with pytest.raises(ParameterError, match=r"line 5 has no spike_alone_epsp_ratio"):
        sweep_pairing(grid, PairingConfig(**FAST), checkpoint=ckpt)
    ckpt.write_text(json.dumps(full[0]) + "\n")          # no header: not written by this sweep
    with pytest.raises(ParameterError, match="line 1 is not a cortex_sim sweep header"):
        sweep_pairing(grid, PairingConfig(**FAST), checkpoint=ckpt)
    rows_forced, info_forced = sweep_pairing(grid, PairingConfig(**FAST), checkpoint=ckpt, force=True)
    assert rows_forced == full and all(r == r for r in info_forced["run_s"])   # every point ran again
