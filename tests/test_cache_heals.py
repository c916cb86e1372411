"""The project cache heals itself, and a failing binary is one line.

A tiny standalone network (two leaky integrate-and-fire neurons driven to a regular spike train,
one project of about a dozen objects) is damaged the ways a cache gets damaged: a truncated binary
(a full disk, a killed copy), a deleted static array, a stamp of another brian2 version, a binary
killed by SIGKILL in its loop, and a project that segfaults on purpose. Expected (tolerance:
the spike times of a clean run, exactly, and its membrane potentials to 1e-12): either the right
result after one rebuild (counted in the project's compiles.log) or, where a rebuild cannot help,
one line naming the project and its log, with no output on stdout and no file left in the
temporary folder.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.standalone

NET = textwrap.dedent('''
    import numpy as np
    from brian2 import NeuronGroup, Network, SpikeMonitor, ms, second, Function, implementation, check_units
    from cortex_sim.devices import activate, run_network, shared_clock

    def tiny(duration_ms=200.0, crash=False):
        """Two LIF neurons with constant drive; 'crash': a C++ function that segfaults at t > 50 ms."""
        activate("cpp")
        eqs = "dv/dt = (drive - v)/(10*ms) : 1\\ndrive : 1"
        ns = {}
        if crash:
            @implementation("cpp", """
                #include <csignal>
                double crash_after(double t) { if (t > 0.05) std::raise(SIGSEGV); return 0.0; }
            """)
            @check_units(t=second, result=1)
            def crash_after(t):
                return 0.0
            eqs = "dv/dt = (drive - v)/(10*ms) + crash_after(t)/ms : 1\\ndrive : 1"
            ns["crash_after"] = crash_after
        G = NeuronGroup(2, eqs, threshold="v > 1", reset="v = 0", method="exact" if not crash else "euler",
                        name="tiny_neurons", clock=shared_clock(0.1 * ms), namespace=ns)
        G.drive = [1.5, 2.0]
        sm = SpikeMonitor(G, name="tiny_spikes")
        info = run_network(Network(G, sm, name="tiny_net"), duration_ms * ms, device="cpp",
                           project_name="tiny_crash" if crash else "tiny")
        return np.asarray(sm.t_), np.asarray(sm.i[:]), np.asarray(G.v[:]), info
''')


def _tiny_module(tmp_path):
    path = tmp_path / "tiny_net.py"
    path.write_text(NET)
    sys.path.insert(0, str(tmp_path))
    try:
        import importlib

        import tiny_net

        return importlib.reload(tiny_net)
    finally:
        sys.path.remove(str(tmp_path))


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A cache of its own with the tiny project built once, and the clean run's result."""
    tmp = tmp_path_factory.mktemp("heal")
    cache = tmp / "cache"
    mp = pytest.MonkeyPatch()
    mp.setenv("CORTEX_SIM_CACHE", str(cache))
    mod = _tiny_module(tmp)
    t, i, v, info = mod.tiny()
    yield {"mod": mod, "t": t, "i": i, "v": v, "project": Path(info.project_dir), "tmp": tmp, "cache": cache}
    mp.undo()


def _same(res, clean):
    t, i, v, _ = res
    assert t.size > 10                                   # the neurons fired
    np.testing.assert_array_equal(t, clean["t"])
    np.testing.assert_array_equal(i, clean["i"])
    np.testing.assert_allclose(v, clean["v"], rtol=1e-12, atol=0)


def _compiles(project):
    from cortex_sim.devices import compile_count

    return compile_count(project)


@pytest.fixture
def cache_env(clean, monkeypatch):
    monkeypatch.setenv("CORTEX_SIM_CACHE", str(clean["cache"]))
    return clean


def test_a_truncated_binary_is_rebuilt_once(cache_env, capsys):
    c = cache_env
    binary = c["project"] / "main"
    data = binary.read_bytes()
    binary.write_bytes(data[: len(data) // 3])          # what a full disk or a killed copy leaves
    before = _compiles(c["project"])
    _same(c["mod"].tiny(), c)
    assert _compiles(c["project"]) == before + 1
    err = capsys.readouterr().err
    assert "rebuilding the cached project" in err and str(c["project"]) in err and "binary" in err
    _same(c["mod"].tiny(), c)                           # and trusted again afterwards: no second rebuild
    assert _compiles(c["project"]) == before + 1


def test_a_project_stamped_by_another_brian2_is_rebuilt(cache_env, capsys):
    from cortex_sim.cache import STAMP

    c = cache_env
    stamp = json.loads((c["project"] / STAMP).read_text())
    stamp["brian2"] = "2.5.0"
    (c["project"] / STAMP).write_text(json.dumps(stamp))
    before = _compiles(c["project"])
    _same(c["mod"].tiny(), c)
    assert _compiles(c["project"]) == before + 1
    assert "built with brian2 2.5.0" in capsys.readouterr().err


def test_a_deleted_static_array_of_a_compiled_project_is_restored(cache_env):
    """CompiledProject (the learner's runner) copies the static arrays into its run folder once:
    a file missing there would make Brian2's binary run on zeros after printing a message."""
    from brian2 import NeuronGroup, Network, SpikeMonitor, ms, TimedArray

    from cortex_sim.compiled import CompiledProject
    from cortex_sim.devices import activate, shared_clock

    activate("cpp")
    table = TimedArray(np.array([1.5, 0.0, 2.0]), dt=50 * ms, name="tiny_table")
    G = NeuronGroup(1, "dv/dt = (table(t) - v)/(10*ms) : 1", threshold="v > 1", reset="v = 0",
                    method="euler", name="tiny_ta_neurons", clock=shared_clock(0.1 * ms),
                    namespace={"table": table})
    sm = SpikeMonitor(G, name="tiny_ta_spikes")
    net = Network(G, sm, name="tiny_ta_net")
    net.run(150 * ms)
    proj = CompiledProject.from_network(net, name="tiny_ta", inputs={"table": table}, outputs={"t": sm.t, "v": G.v})
    first = proj.run({})
    static = [p for p in (proj.work / "static_arrays").iterdir() if "tiny_table" in p.name]
    assert static, list((proj.work / "static_arrays").iterdir())
    for p in static:
        p.unlink()
    again = proj.run({})
    np.testing.assert_array_equal(again["t"], first["t"])
    assert first["t"].size > 3 and np.any(first["t"] > 0.1)        # the third bin drives spikes
    # a NaN in the input makes the voltage NaN: the run names the output, it does not return it
    from cortex_sim.errors import SimulationDivergedError

    with pytest.raises(SimulationDivergedError, match=r"the NaN run: v got NaN or inf"):
        proj.run({"table": np.array([1.5, np.nan, 2.0])}, what="the NaN run")
    np.testing.assert_array_equal(proj.run({})["t"], first["t"])   # and the next run is right again
    proj.close()


def test_a_project_regenerated_with_other_constants_does_not_stop_a_process_running_it(cache_env):
    """Two studies of one structure with different constants share a project folder; while the
    second regenerates and compiles it (the binary is 0 bytes mid-link), the first keeps running
    its own hard-linked binary and gets its own results (before: 'not the one make produced ...
    regenerated since by another run', the study stopped)."""
    from brian2 import NeuronGroup, Network, SpikeMonitor, ms

    from cortex_sim.compiled import CompiledProject
    from cortex_sim.devices import activate, shared_clock

    def build(drive):
        activate("cpp")
        G = NeuronGroup(1, "dv/dt = (drive - v)/(10*ms) : 1", threshold="v > 1", reset="v = 0", method="euler",
                        name="tiny_const_neurons", clock=shared_clock(0.1 * ms), namespace={"drive": drive})
        sm = SpikeMonitor(G, name="tiny_const_spikes")
        net = Network(G, sm, name="tiny_const_net")
        net.run(100 * ms)
        return CompiledProject.from_network(net, name="tiny_const", outputs={"t": sm.t})

    a = build(1.5)
    first = a.run({})["t"]
    b = build(3.0)                                    # same structure, other constant: same folder
    assert b.project == a.project and b.digest != a.digest
    binary = a.project / "main"
    binary.unlink()
    binary.write_bytes(b"")                           # what the other process's make leaves mid-link
    np.testing.assert_array_equal(a.run({})["t"], first)
    assert len(first) > 0
    a.close()
    b.close()


def _kill_binary_when_running(project, sig, stop):
    """Kill the project's binary (a process working in the project or one of its run folders) once it runs."""
    while not stop.is_set():
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{pid}/cwd").startswith(str(project)) and \
                        Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"./main"):
                    os.kill(int(pid), sig)
                    return
            except OSError:
                continue
        time.sleep(0.005)


def test_a_binary_killed_by_sigkill_is_rebuilt_and_run_again(cache_env, capsys):
    c = cache_env
    mod = c["mod"]
    long_clean = mod.tiny(duration_ms=100000.0)          # a few seconds of loop to kill into
    before = _compiles(c["project"])
    stop = threading.Event()
    killer = threading.Thread(target=_kill_binary_when_running, args=(c["project"], signal.SIGKILL, stop))
    killer.start()
    try:
        res = mod.tiny(duration_ms=100000.0)
    finally:
        stop.set()
        killer.join()
    np.testing.assert_array_equal(res[0], long_clean[0])
    np.testing.assert_allclose(res[2], long_clean[2], rtol=1e-12, atol=0)
    assert _compiles(c["project"]) == before + 1
    err = capsys.readouterr().err
    assert "SIGKILL" in err and str(c["project"]) in err


SEGFAULT = textwrap.dedent('''
    import sys
    sys.path.insert(0, {folder!r})
    from cortex_sim.errors import CortexSimError
    import tiny_net
    try:
        tiny_net.tiny(crash=True)
    except CortexSimError as exc:
        sys.stderr.write(f"error: {{exc}}\\n")
        sys.exit(1)
''')


def test_a_binary_that_segfaults_gives_one_line_and_no_temp_files(cache_env, tmp_path):
    c = cache_env
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = dict(os.environ, TMPDIR=str(tmpdir), CORTEX_SIM_CACHE=str(c["cache"]))
    proc = subprocess.run([sys.executable, "-c", SEGFAULT.format(folder=str(c["tmp"]))], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""                                           # Brian2 printed the binary's output before
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("[cortex-sim]")]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "SIGSEGV" in lines[0] and "tiny_crash" in lines[0] and "stdout.txt" in lines[0]
    assert "Traceback" not in proc.stderr
    assert "rebuilding the cached project" in proc.stderr            # it tried one rebuild first
    project = Path(c["cache"]) / "cpp"
    crash = [p for p in project.iterdir() if p.name.startswith("tiny_crash-")]
    assert len(crash) == 1 and _compiles(crash[0]) == 2                # built, rebuilt once, not more
    assert list(tmpdir.iterdir()) == []                                # no Brian2 debug or log files


TWO = textwrap.dedent('''
    import sys
    sys.path.insert(0, {folder!r})
    import numpy as np, tiny_net
    t, i, v, info = tiny_net.tiny()
    np.save({out!r}, np.concatenate([t, i, v]))
''')


def test_two_processes_on_one_damaged_project_rebuild_it_once(cache_env, tmp_path):
    c = cache_env
    binary = c["project"] / "main"
    binary.write_bytes(binary.read_bytes()[:1000])
    before = _compiles(c["project"])
    env = dict(os.environ, CORTEX_SIM_CACHE=str(c["cache"]))
    outs = [tmp_path / f"out{k}.npy" for k in range(2)]
    procs = [subprocess.Popen([sys.executable, "-c", TWO.format(folder=str(c["tmp"]), out=str(o))], env=env,
                              stderr=subprocess.PIPE, text=True) for o in outs]
    errs = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    assert _compiles(c["project"]) == before + 1
    expected = np.concatenate([c["t"], c["i"], c["v"]])
    for o in outs:
        np.testing.assert_allclose(np.load(o), expected, rtol=1e-12, atol=0)


# -- cortex-sim cache info / clear --------------------------------------------------------------
def _cli(args, env):
    return subprocess.run([sys.executable, "-m", "cortex_sim", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_cache_info_and_clear(cache_env, tmp_path):
    import shutil

    c = cache_env
    cache = tmp_path / "cache"
    shutil.copytree(c["cache"], cache, symlinks=True)
    env = dict(os.environ, CORTEX_SIM_CACHE=str(cache))
    info = _cli(["cache", "info", "--json"], env)
    assert info.returncode == 0, info.stderr
    rows = json.loads(info.stdout)
    assert rows["cache"] == str(cache)
    names = {r["name"].rsplit("-", 1)[0]: r for r in rows["projects"]}
    assert "tiny" in names and names["tiny"]["size"] > 10_000 and names["tiny"]["rebuild"] == ""
    text = _cli(["cache", "info"], env).stdout
    assert str(cache) in text and "tiny-" in text

    old = time.time() - 10 * 86400                      # a project last used 10 days ago
    tiny = Path(names["tiny"]["path"])
    for p in (tiny / ".lock", tiny / "cortex_sim_stamp.json", tiny):
        os.utime(p, (old, old))
    out = _cli(["cache", "clear", "--older-than", "5"], env)
    assert out.returncode == 0, out.stderr
    assert not tiny.exists() and all(Path(r["path"]).exists() for n, r in names.items() if n != "tiny")

    bad = _cli(["cache", "clear", "--name", "nosuch"], env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "name: got 'nosuch'" in bad.stderr
    bad = _cli(["cache", "clear", "--older-than", "-1"], env)
    assert bad.returncode == 2 and "older_than_days" in bad.stderr or "--older-than" in bad.stderr

    out = _cli(["cache", "clear"], env)
    assert out.returncode == 0 and not any((cache / "cpp").iterdir())


# -- one owner of Brian2's device state: preferences ---------------------------------------------
def test_activation_restores_the_preferences_a_build_changed():
    """What a quick compile (-O0), the CUDA set-up (include folders) or the benchmark (its run
    command, which it used to set to './main' instead of restoring) change is put back by the next
    activation (before: kept for every later build of the process)."""
    from brian2 import prefs

    from cortex_sim.devices import activate

    activate("cpp")
    flags = list(prefs.codegen.cpp.extra_compile_args_gcc)
    include = list(prefs.codegen.cpp.include_dirs)
    run_cmd = prefs.devices.cpp_standalone.run_cmd_unix
    prefs.codegen.cpp.extra_compile_args_gcc = ["-O0" if f.startswith("-O") else f for f in flags] + ["-O0"]
    prefs.codegen.cpp.include_dirs = include + ["/opt/cuda/include"]
    prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, "-c", "pass", "./main"]
    activate("cpp", threads=2)
    assert prefs.devices.cpp_standalone.openmp_threads == 2
    activate("cpp")
    assert list(prefs.codegen.cpp.extra_compile_args_gcc) == flags and "-O0" not in flags
    assert list(prefs.codegen.cpp.include_dirs) == include
    assert prefs.devices.cpp_standalone.run_cmd_unix == run_cmd
    assert prefs.devices.cpp_standalone.openmp_threads == 0


def test_a_network_built_before_the_device_was_reset_is_refused_in_one_line():
    """Another build (activate) resets Brian2's device; a network built before it
    used to fail deep inside Brian2 ('Cannot retrieve the values of state variables ...')."""
    from brian2 import Network, NeuronGroup, ms

    from cortex_sim.devices import activate, run_network
    from cortex_sim.errors import JobFailedError

    activate("cpp")
    old = Network(NeuronGroup(2, "dv/dt = -v/(10*ms) : 1", name="stale_neurons"), name="stale_net")
    activate("cpp")                                   # another network's build
    with pytest.raises(JobFailedError, match="stale_net: its object stale_neurons was built before"):
        run_network(old, 1 * ms, device="cpp", project_name="stale")


def test_the_float_type_brian2_generates_keys_a_project_of_its_own():
    """float32 and float64 generate different sources for one network: each gets its own project
    folder (before: one folder, recompiled back and forth whenever the preference changed)."""
    import numpy as np
    from brian2 import Network, NeuronGroup, ms, prefs  # noqa: F401  (ms: the equations' unit)

    from cortex_sim.projects import network_fingerprint

    net = Network(NeuronGroup(2, "dv/dt = -v/(10*ms) : 1", name="dtype_neurons"), name="dtype_net")
    before = prefs.core.default_float_dtype
    try:
        prefs.core.default_float_dtype = np.float64
        key64 = network_fingerprint(net)
        assert network_fingerprint(net) == key64
        prefs.core.default_float_dtype = np.float32
        key32 = network_fingerprint(net)
    finally:
        prefs.core.default_float_dtype = before
    assert key32 != key64
