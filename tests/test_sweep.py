"""Compile once, run many, on the sweep engine: a sweep re-runs one compiled
project with Brian2 run_args and gives the same numbers as separate runs; an unchanged model is
not recompiled; a store resumes to identical rows and refuses another model."""

import json
import subprocess
import sys

import pytest
from brian2 import ms, nA, second

from cortex_sim.errors import ParameterError, UnknownNameError
from cortex_sim.protocols.pairing import PairingConfig, run_pairing
from cortex_sim.sweeps import sweep_pairing

FAST = dict(trial_interval=1 * second, test_interval=0.5 * second, window_delays=(), pairing_counts=())


@pytest.mark.standalone
def test_sweep_equals_separate_runs_and_reuses_the_project():
    from cortex_sim.devices import cache_root, compile_count

    grid = {"apical_delay": [0.0, 5.0], "apical_amp": [1.0, 1.2]}
    rows, info = sweep_pairing(grid, PairingConfig(**FAST), cluster="serial")
    assert len(rows) == 4 and info["ran"] == 4
    for row in rows[::3]:   # two of the four points, run on their own
        single = run_pairing(PairingConfig(**FAST, apical_delay=row["apical_delay"] * ms,
                                           apical_amp=row["apical_amp"] * nA), record_traces=False)
        for cond, c in single.conditions.items():
            assert row[f"{cond}_epsp_ratio"] == pytest.approx(c["epsp_ratio"], rel=1e-12)
    assert rows[0]["paired_epsp_ratio"] > 1.2 > rows[2]["paired_epsp_ratio"]   # delay 0 vs 5 ms at 1 nA
    # the same sweep again, in a fresh worker state: the project is unchanged, nothing is recompiled
    from cortex_sim.sweeps import engine

    engine._EXPERIMENTS.clear()
    counts = {p: compile_count(p) for p in (cache_root() / "cpp").glob("pairing-*")}
    rows2, _ = sweep_pairing(grid, PairingConfig(**FAST), cluster="serial")
    assert {p: compile_count(p) for p in (cache_root() / "cpp").glob("pairing-*")} == counts
    assert rows2 == rows


@pytest.mark.codegen_independent
def test_sweep_bad_input():
    with pytest.raises(UnknownNameError, match="theta"):
        sweep_pairing({"theta": [1.0]}, PairingConfig(**FAST))
    with pytest.raises(ParameterError, match="grid"):
        sweep_pairing({}, PairingConfig(**FAST))
    with pytest.raises(ParameterError, match="apical_delay: got no values"):
        sweep_pairing({"apical_delay": []}, PairingConfig(**FAST))


@pytest.mark.standalone
def test_sweep_cli_json(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "cortex_sim.cli", "sweep", "pairing", "--param",
                           "apical_delay=0,10", "--trial-interval", "1", "--json", "--processes", "2"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [r["apical_delay"] for r in out["rows"]] == [0.0, 10.0]
    assert out["rows"][0]["paired_epsp_ratio"] > out["rows"][1]["paired_epsp_ratio"]
    assert (out["points"], out["ran"], out["skipped"], out["failed"]) == (2, 2, 0, 0)
    assert out["store"] == "cortex_sim_out/sweep/pairing" and (tmp_path / out["dataset"]).exists()
    assert "dashboard" in proc.stderr and "2 Dask workers" in proc.stderr


@pytest.mark.standalone
def test_interrupted_sweep_resumes_to_identical_rows(tmp_path):
    """A store missing a point (as after an interruption) runs that point only, and the rows equal
    those of an uninterrupted sweep; a store of another model or a corrupt record is an
    error naming the store and the field or file."""
    grid = {"apical_delay": [0.0, 5.0, 10.0]}
    store = tmp_path / "store"
    full, _ = sweep_pairing(grid, PairingConfig(**FAST), store=store, cluster="serial")
    head = json.loads((store / "store.json").read_text())
    assert head["fields"]["config"]["dt_ms"] == pytest.approx(0.1) and head["job"] == "pairing"
    records = sorted((store / "points").glob("*.json"))
    assert len(records) == 3
    lost = next(p for p in records if json.loads(p.read_text())["point"]["apical_delay"] == 5.0)
    lost.unlink()
    resumed, info = sweep_pairing(grid, PairingConfig(**FAST), store=store, cluster="serial")
    assert (info["ran"], info["skipped"]) == (1, 2)
    assert info["run_s"][0] != info["run_s"][0] and info["run_s"][1] == info["run_s"][1]  # only 5 ms ran
    assert resumed == full
    # the same store at another dt: refused before any run, naming the store and the field
    with pytest.raises(ParameterError, match=r"store.*holds another sweep: fields.config.dt_ms \(0.1 in the store, "
                                             r"1.0 now\)"):
        sweep_pairing(grid, PairingConfig(**FAST, dt=1 * ms), store=store, cluster="serial")
    (store / "points" / "bad.json").write_text('{"key": "x", "point"')
    with pytest.raises(ParameterError, match=r"bad.json' is not a record of this sweep"):
        sweep_pairing(grid, PairingConfig(**FAST), store=store, cluster="serial")
    rows_forced, info_forced = sweep_pairing(grid, PairingConfig(**FAST), store=store, force=True, cluster="serial")
    assert rows_forced == full and info_forced["ran"] == 3          # every point ran again


@pytest.mark.standalone
def test_a_sweep_after_another_simulation_rebuilds_its_network():
    """A process (or a Dask worker) that ran another simulation between two sweeps has a reset
    Brian2 device: the pairing job must rebuild its network instead of re-running a stale one (the
    fresh-clone run of 2026-11-30 failed every point of the second sweep that way)."""
    from cortex_sim.protocols.bac import run_bac

    grid = {"apical_delay": [0.0]}
    rows1, _ = sweep_pairing(grid, PairingConfig(**FAST), cluster="serial")
    run_bac()                                   # resets the device (runtime)
    rows2, info = sweep_pairing(grid, PairingConfig(**FAST), cluster="serial")
    assert info["ran"] == 1 and rows2 == rows1
