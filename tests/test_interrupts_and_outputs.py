"""Never a wrong answer: an interrupted compile or run is never analysed, output paths
and sizes are checked before any work, and ``python -m cortex_sim`` works.

Interrupts are sent as a terminal sends them (SIGINT to the whole process group) and as a job
scheduler does (SIGTERM to the process): both must end with exit 130, one line on stderr, no JSON,
no figure, no Brian2 debug files, and a cache from which the next run is correct.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cortex_sim import __version__


def _start(args, env, tmp):
    return subprocess.Popen([sys.executable, "-m", "cortex_sim", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp, start_new_session=True)


def _env(tmp, cache=None):
    env = dict(os.environ, TMPDIR=str(tmp / "tmp"))
    (tmp / "tmp").mkdir(exist_ok=True)
    if cache is not None:
        env["CORTEX_SIM_CACHE"] = str(cache)
    return env


def _wait_for(condition, timeout=300):
    t0 = time.monotonic()
    while not condition():
        if time.monotonic() - t0 > timeout:
            raise AssertionError("timed out waiting for the run to reach the point of interruption")
        time.sleep(0.1)


def _assert_clean_interrupt(proc, tmp, out_dir):
    stdout, stderr = proc.communicate(timeout=120)
    lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("[cortex-sim]")]
    assert proc.returncode == 130, stderr
    assert lines == ["cortex-sim: interrupted: nothing written"], stderr
    assert stdout == ""                                     # no JSON
    assert "make" not in stderr and "Traceback" not in stderr
    assert not out_dir.exists() or not any(out_dir.iterdir())   # no figure
    assert not [p.name for p in (tmp / "tmp").iterdir() if p.name.startswith("brian_")]  # no debug files


@pytest.mark.standalone
def test_sigint_during_a_standalone_run_writes_nothing_and_the_next_run_is_right(tmp_path):
    """`plasticity frequency` interrupted in its simulation loop (before: exit 0 and w/w0 = 0.829
    from half a run); then the same project runs to the right numbers."""
    from cortex_sim.protocols.frequency import run_frequency

    env, out = _env(tmp_path), tmp_path / "out"
    proc = _start(["plasticity", "frequency", "--rates", "20", "--groups", "3000", "--json", "--out", str(out)],
                  env, tmp_path)
    seen = []

    def simulating():
        line = proc.stderr.readline()
        seen.append(line)
        return "simulating" in line or proc.poll() is not None
    _wait_for(simulating)
    time.sleep(1.0)
    assert proc.poll() is None, "".join(seen)
    os.killpg(proc.pid, signal.SIGINT)
    _assert_clean_interrupt(proc, tmp_path, out)

    done = subprocess.run([sys.executable, "-m", "cortex_sim", "plasticity", "frequency", "--rates", "20",
                           "--groups", "3", "--json", "--no-figure"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    ref = run_frequency(rates=(20.0,), n_groups=3)
    assert [r["w_ratio"] for r in rows] == pytest.approx([r["w_ratio"] for r in ref.rows], rel=1e-12)


@pytest.mark.standalone
@pytest.mark.parametrize("how", ["SIGINT to the process group", "SIGTERM to the process"])
def test_interrupt_during_a_compile_keeps_the_cache_usable(tmp_path, how):
    """Ctrl-C (SIGINT to the terminal's process group) or SIGTERM while make runs (before: 60
    'make ... Interrupt' lines and a traceback): one line, exit 130; the next run of the same
    project compiles what is missing and is right."""
    cache = tmp_path / "cache"
    env, out = _env(tmp_path, cache), tmp_path / "out"
    args = ["neuron", "bac", "--device", "cpp", "--json"]
    proc = _start([*args, "--out", str(out)], env, tmp_path)
    _wait_for(lambda: any(cache.glob("cpp/*/make.log")) or proc.poll() is not None)
    time.sleep(1.5)
    assert proc.poll() is None, proc.stderr.read()
    if how.startswith("SIGINT"):
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGTERM)
    _assert_clean_interrupt(proc, tmp_path, out)

    again = subprocess.run([sys.executable, "-m", "cortex_sim", *args, "--no-figure"], capture_output=True,
                           text=True, env=env, cwd=tmp_path, timeout=600)
    assert again.returncode == 0, again.stderr
    runtime = subprocess.run([sys.executable, "-m", "cortex_sim", "neuron", "bac", "--json", "--no-figure"],
                             capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    cpp, rt = json.loads(again.stdout), json.loads(runtime.stdout)
    assert {k: cpp[k]["n_spikes"] for k in rt if k != "cortex_sim"} == {
        k: rt[k]["n_spikes"] for k in rt if k != "cortex_sim"}
    assert {k: cpp[k]["plateau_ms"] for k in rt if k != "cortex_sim"} == pytest.approx(
        {k: rt[k]["plateau_ms"] for k in rt if k != "cortex_sim"}, abs=0.2)


@pytest.mark.parametrize("argv,word", [
    (["pairing", "--json", "--out", "/proc/cortex_sim_out"], "--out"),           # not creatable
    (["pairing", "--json", "--out", "FILE"], "--out"),                            # a file
    (["plasticity", "frequency", "--figures", "/proc/x"], "--out"),
    (["learn", "--dataset", "digits", "--out", "/proc/x"], "--out"),
    (["learn", "--dataset", "digits", "--figures", "FILE"], "--figures"),
    (["sweep", "pairing", "--param", "apical_delay=0,5", "--store", "/proc/x/y"], "--store"),
    (["sweep", "pairing", "--param", "apical_delay=0,5", "--store", "FILE"], "--store"),
    (["sweep", "pairing", "--param", "apical_delay=0,5", "--out", "/proc/x"], "--out"),
    (["bench", "clopath", "--neurons", "2", "--inputs", "2", "--out", "FILE"], "--out"),
    (["bench", "clopath", "--neurons", "1000000", "--inputs", "10000"], "GiB"),  # 1e10 synapses
    (["learn", "--rule", "spiking-clapp", "--dataset", "digits", "--neurons", "60000,10"], "GiB"),
    (["learn", "--rule", "spiking-clapp", "--dataset", "digits", "--backend", "cupy"], "backend: got 'cupy'"),
    (["sweep", "learn", "--param", "rule=clapp", "--param", "seed=0", "--option", "backend=torch"], "backend"),
    (["pairing", "--trial-interval", "1e9"], "3600 s"),
    (["pairing", "--theta-plus", "1e6"], "200 mV"),
    (["pairing", "--counts", "1.5"], "comma-separated integers"),
    (["pairing", "--trial-interval", "3000"], "--yes"),                           # 13 h estimated
    (["bench", "clopath", "--neurons", "20000", "--duration", "600"], "--yes"),
    (["plasticity", "window", "--dt", "50"], "--dt"),
])
def test_bad_outputs_and_sizes_exit_2_before_any_work(tmp_path, argv, word):
    """One line, exit 2, and no simulation started (the stages of a run log 'generating' and
    'simulating'; neither appears)."""
    (tmp_path / "FILE").write_text("x")
    (tmp_path / "DIR").mkdir()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "cortex_sim", *argv], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, env=_env(tmp_path, tmp_path / "cache"))
    elapsed = time.perf_counter() - t0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and word in lines[0], proc.stderr
    assert lines[0].startswith("cortex-sim: error:") and proc.stdout == ""
    assert not (tmp_path / "cache").exists()         # nothing generated or compiled
    print(f"{' '.join(argv)}: exit 2 after {elapsed:.2f} s")


def test_python_m_cortex_sim_version():
    proc = subprocess.run([sys.executable, "-m", "cortex_sim", "--version"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"cortex-sim {__version__}"


def test_repository_holds_a_license():
    text = (Path(__file__).resolve().parent.parent / "LICENSE").read_text()
    assert text.startswith("MIT License")


def test_a_long_standalone_run_shows_a_wall_clock_bar_against_its_last_run(tmp_path, capsys, monkeypatch):
    """No silent minute while a binary runs. After SHOW_AFTER_S a bar counts wall
    seconds (against the last run's time once one is known); the run's time is kept for the next."""
    import time

    from cortex_sim import devices

    monkeypatch.setattr(devices.run_clock, "SHOW_AFTER_S", 0.05)
    with devices.run_clock("stderr", tmp_path):
        time.sleep(0.8)
    first = capsys.readouterr().err
    assert "simulating (wall s)" in first
    assert 0.7 < float((tmp_path / "last_run_s").read_text()) < 5
    with devices.run_clock("stderr", tmp_path):
        time.sleep(0.8)
    assert "last run took" in capsys.readouterr().err
    with devices.run_clock(None, tmp_path):      # no report: nothing shown
        time.sleep(0.2)
    assert capsys.readouterr().err == ""
