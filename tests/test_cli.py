"""The cortex-sim command: --version, --help, and the JSON schemas of its outputs."""

import json
import subprocess
import sys

import pytest

from cortex_sim import __version__


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cortex_sim.cli", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def test_version_and_help():
    assert _cli("--version").stdout.strip() == f"cortex-sim {__version__}"
    out = _cli("--help").stdout
    assert "neuron" in out and "plasticity" in out


def test_bac_json_and_figure(tmp_path):
    proc = _cli("neuron", "bac", "--json", "--figures", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"soma_only", "apical_only", "paired", "cortex_sim"}
    assert out["cortex_sim"]["command"] == "neuron bac" and out["cortex_sim"]["parameters"]["soma_amp"] == 1.9
    # the parameters' units travel with them
    assert out["cortex_sim"]["units"] == {"dt": "ms", "apical_delay": "ms", "soma_amp": "nA", "apical_amp": "nA"}
    assert [out[c]["n_spikes"] for c in ("soma_only", "apical_only")] == [1, 0]
    assert out["paired"]["n_spikes"] >= 2 and out["paired"]["plateau_ms"] > 0
    assert (tmp_path / "bac.png").stat().st_size > 10_000


@pytest.mark.parametrize("name", ["visual", "hippocampal"])
def test_clamp_json_schema(tmp_path, name):
    proc = _cli("plasticity", "clamp", "--json", "--params", name, "--points", "9", "--figures", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out["params"]) >= {"theta_minus_mV", "theta_plus_mV", "A_LTD_per_mV", "A_LTP_per_mV2"}
    us = [r["u_clamp_mV"] for r in out["rows"]]
    assert us[0] == -80 and us[-1] == 0 and len(us) == 9
    assert all(isinstance(r["dw_per_spike"], float) for r in out["rows"])
    assert (tmp_path / "clamp.png").exists()


@pytest.mark.standalone
def test_bench_writes_its_record_under_out(tmp_path):
    """`bench` takes --out like every simulation command (before: refused as an
    unrecognized argument) and writes the record it prints there."""
    out = tmp_path / "b"
    proc = subprocess.run([sys.executable, "-m", "cortex_sim", "bench", "clopath", "--neurons", "2", "--inputs", "2",
                           "--duration", "0.01", "--out", str(out), "--json", "-q"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    stored = json.loads((out / "bench_clopath.json").read_text())
    assert stored["synapses"] == printed["synapses"] == 4 and stored["mean_weight"] == printed["mean_weight"]


@pytest.mark.codegen_independent
def test_the_sweep_command_offers_every_registered_job():
    from cortex_sim.cli.sweep import SWEEP_JOBS
    from cortex_sim.sweeps import JOBS

    assert set(SWEEP_JOBS) == set(JOBS)
