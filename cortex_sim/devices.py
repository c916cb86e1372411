"""Simulation devices: Brian2 runtime, C++ standalone (cached projects) and brian2cuda.

One argument picks the device everywhere (``device="runtime" | "cpp" | "cuda"``). This module is
the one place that touches Brian2's global device state: :func:`activate` resets it before each
simulation, :func:`run_network` builds (C++/CUDA) or runs (runtime) a network (a network compiled once and
re-run with ``run_args`` is a :class:`cortex_sim.experiment.CompiledExperiment`).

C++ and CUDA projects live in a cache folder keyed by a fingerprint of the network's structure
(object names, classes, sizes, equations and code). Brian2 rewrites only source files whose
content changed and its makefile recompiles only those, so a second run of an unchanged model
does not recompile (parameters are constants in the generated code: a changed parameter
recompiles the files that use it). Set ``CORTEX_SIM_CACHE`` to move the cache. The projects on
disk (cache folder, precompiled header, fingerprint, make, run folders) are
:mod:`cortex_sim.projects`.
"""

from __future__ import annotations

import fcntl
import gc
import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cache import binary_path, compile_count, discard_build, stale_reason, toolchain, write_stamp  # noqa: F401
from .errors import (
    DeviceUnavailableError,
    JobFailedError,
    RunFailedError,
    RunInterrupted,
    SimulationDivergedError,
    check_choice,
    check_int,
)
from .projects import (  # noqa: F401
    binary_failure,
    binary_mtime,
    build_project,
    cache_root,
    check_completed,
    device_run,
    make_project,
    network_fingerprint,
    plain_header,
    precompiled_header,
    private_run_folder,
)
from .reporting import progress, run_clock

__all__ = ["activate", "run_network", "RunInfo", "cache_root", "shared_clock", "stable_clock"]

DEVICES = ("runtime", "cpp", "cuda")

# The clock of the network being built; reset by activate(). One explicit clock shared by all
# objects keeps the generated C++ identical from build to build (Brian2 orders several clocks
# arbitrarily and records defaultclock assignments only on a fresh device), so cached projects
# are reused without recompiling.
_STATE = {"clock": None, "generation": 0}


def device_generation() -> int:
    """How many times :func:`activate` has reset Brian2's device in this process: a network (or a
    compiled project's device state) built at another generation is gone and must be rebuilt."""
    return _STATE["generation"]


def stable_clock(dt, name):
    """A Brian2 clock whose hash depends on its name only.

    Brian2 keeps a network's clocks in a set and writes their initialisation in set order; with
    the default identity hash that order changes from process to process, which changes main.cpp
    and forces a recompile. Every clock of cortex_sim is made here.
    """
    from brian2 import Clock

    h = int(hashlib.md5(name.encode()).hexdigest()[:12], 16)
    # the hash is a class attribute so that it holds from the object's creation on
    attrs = {k: v for k, v in vars(Clock).items() if isinstance(v, property)}  # Brian2 looks there
    attrs.update(__hash__=lambda self: h, __eq__=lambda self, other: self is other)
    cls = type("StableClock", (Clock,), attrs)
    return cls(dt, name=name)


def shared_clock(dt):
    """The clock of the network under construction, created at the first call after activate()."""
    import brian2

    if type(brian2.get_device()).__name__ == "CUDAStandaloneDevice":
        # brian2cuda's synaptic code refers to the defaultclock
        brian2.defaultclock.dt = dt
        return brian2.defaultclock
    clock = _STATE["clock"]
    if clock is None or float(clock.dt) != float(dt):
        n = 0 if clock is None else int(clock.name.rsplit("_", 1)[-1]) + 1
        clock = stable_clock(dt, f"cortex_clock_{n}")
        _STATE["clock"] = clock
    return clock


def _cuda_prefs(compute_capability, quick=False):
    from brian2 import prefs

    # cuRAND from the 'nvidia-curand' wheel (cuda extra), for toolkits installed without it
    try:
        import nvidia

        for root in map(Path, nvidia.__path__):
            for cu in sorted(root.glob("cu*")):
                if (cu / "include" / "curand.h").exists():
                    prefs.codegen.cpp.include_dirs = [*prefs.codegen.cpp.include_dirs, str(cu / "include")]
                    # the wheel ships libcurand.so.N only; the linker's -lcurand needs libcurand.so
                    link_dir = cache_root() / "cuda-lib"
                    link_dir.mkdir(parents=True, exist_ok=True)
                    for so in sorted((cu / "lib").glob("libcurand.so.*"))[:1]:
                        link = link_dir / "libcurand.so"
                        if not link.exists():
                            link.symlink_to(so)
                    prefs.codegen.cpp.library_dirs = [*prefs.codegen.cpp.library_dirs, str(cu / "lib"),
                                                      str(link_dir)]
                    prefs.codegen.cpp.runtime_library_dirs = [*prefs.codegen.cpp.runtime_library_dirs,
                                                              str(cu / "lib")]
    except ImportError:
        pass
    backend = prefs.devices.cuda_standalone.cuda_backend
    # brian2cuda 1.0b1's makefile says -std=c++11; CUDA >= 13 (Thrust/CUB/libcu++) needs C++17
    flags = [f for f in backend.extra_compile_args_nvcc if not f.startswith("-std")]
    backend.extra_compile_args_nvcc = flags + ["-std=c++17"]
    prefs.codegen.cpp.extra_compile_args_gcc = [
        "-std=c++17" if f.startswith("-std") else f for f in prefs.codegen.cpp.extra_compile_args_gcc]
    if quick:   # a compile check: no optimisation (host and device code), the binary is not for timing
        backend.extra_compile_args_nvcc = [*backend.extra_compile_args_nvcc, "-Xptxas", "-O0"]
        prefs.codegen.cpp.extra_compile_args_gcc = [
            "-O0" if f.startswith("-O") else f for f in prefs.codegen.cpp.extra_compile_args_gcc]
    if compute_capability is not None:
        backend.detect_gpus = False
        backend.compute_capability = float(compute_capability)
        backend.gpu_id = 0


def check_device_available(device: str, *, compile_only: bool = False) -> None:
    """Raise DeviceUnavailableError saying what is missing for ``device`` and how to get it."""
    check_choice("device", device, DEVICES)
    if device in ("cpp", "cuda") and shutil.which(os.environ.get("CXX", "g++")) is None:
        raise DeviceUnavailableError(
            f"device={device!r}: no C++ compiler found (g++); install one, e.g. 'apt-get install g++'")
    if device != "cuda":
        return
    try:
        import brian2cuda  # noqa: F401
    except ImportError as exc:
        raise DeviceUnavailableError(
            "device='cuda': brian2cuda is not installed; install the 'cuda' extra "
            "(pip install --pre 'cortex_sim[cuda]', needs Python >= 3.12 and brian2 == 2.10.1)") from exc
    if shutil.which("nvcc") is None and not os.environ.get("CUDA_PATH"):
        raise DeviceUnavailableError(
            "device='cuda': nvcc (the CUDA toolkit) is not on PATH; install the CUDA toolkit or set CUDA_PATH")
    if not compile_only:
        ok = shutil.which("nvidia-smi") is not None and subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True).returncode == 0
        if not ok:
            raise DeviceUnavailableError(
                "device='cuda': no NVIDIA GPU found (nvidia-smi -L failed); run on a GPU machine, "
                "or generate and compile only (compile_only=True with a compute capability)")


def activate(device: str = "runtime", *, threads: int = 1, codegen_target: str = "cython",
             compute_capability=None, compile_only: bool = False, quick_compile: bool = False) -> None:
    """Reset Brian2's device state and select ``device`` for the next network.

    Parameters
    ----------
    device : {'runtime', 'cpp', 'cuda'}
    threads : int
        OpenMP threads of the C++ standalone device (1 = no OpenMP).
    codegen_target : {'cython', 'numpy'}
        Code generation target of the runtime device.
    compute_capability : float or None
        For CUDA without a GPU: generate code for this compute capability (e.g. 9.0).
    quick_compile : bool
        CUDA compile checks: compile host and device code without optimisation (the binary is
        only a proof that the project compiles; use a project name of its own for it).
    """
    import brian2
    from brian2 import prefs, set_device

    check_choice("device", device, DEVICES)
    check_int("threads", threads, low=1)
    check_choice("codegen_target", codegen_target, ("cython", "numpy"))
    check_device_available(device, compile_only=compile_only)
    _restore_prefs()
    current = brian2.get_device()
    if hasattr(current, "reinit") and type(current).__name__ != "RuntimeDevice":
        current.reinit()
    # Brian2 makes names unique against live objects: collect the previous network's objects so
    # that an identical model gets identical code-object names (and its cached project is reused)
    _STATE["clock"] = None
    _STATE["generation"] += 1
    gc.collect()
    if device == "runtime":
        set_device("runtime")
        prefs.codegen.target = codegen_target
    elif device == "cpp":
        set_device("cpp_standalone", build_on_run=False)
        # start every build from a re-initialised device, the first one of a process included,
        # so that identical models generate identical projects
        brian2.get_device().reinit()
        brian2.get_device().activate(build_on_run=False)
        prefs.devices.cpp_standalone.openmp_threads = threads if threads > 1 else 0
        # one token each: Brian2 tests every flag on its own and drops those the compiler refuses.
        # Brian2 keeps its pointers in local __restrict variables, which GCC does not trust: a
        # neuron loop over 10 arrays needs more run-time alias checks than GCC's default of 10
        # before it vectorises (with the other changes of benchmarks/RESULTS.md, 'The CPU core': the
        # AdEx-Clopath state update of bench clopath 0.70 -> 0.33 s in rk4, double)
        prefs.codegen.cpp.extra_compile_args_gcc = [*prefs.codegen.cpp.extra_compile_args_gcc,
                                                    "--param=vect-max-version-for-alias-checks=64"]
        header = precompiled_header() or plain_header()
        if header is not None:
            prefs.codegen.cpp.extra_compile_args_gcc = [*prefs.codegen.cpp.extra_compile_args_gcc,
                                                        f"-include{header}"]
    else:
        import brian2cuda  # noqa: F401

        _cuda_prefs(compute_capability, quick=quick_compile)
        set_device("cuda_standalone", build_on_run=False)


#: Brian2 preferences that cortex_sim changes (activate, the CUDA set-up, a quick compile, the
#: benchmark's run command). Each activation first puts them back to the values they had before
#: cortex_sim's first activation in this process, so that nothing leaks into the next build
#: (a quick compile's -O0, CUDA include folders appended again on every call, a run command).
_OWNED_PREFS = ("codegen.target", "codegen.cpp.include_dirs", "codegen.cpp.library_dirs",
                "codegen.cpp.runtime_library_dirs", "codegen.cpp.extra_compile_args_gcc",
                "devices.cpp_standalone.openmp_threads", "devices.cpp_standalone.run_cmd_unix",
                "devices.cpp_standalone.extra_make_args_unix",
                # registered by brian2cuda when it is imported
                "devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc",
                "devices.cuda_standalone.cuda_backend.detect_gpus",
                "devices.cuda_standalone.cuda_backend.compute_capability",
                "devices.cuda_standalone.cuda_backend.gpu_id")


def _restore_prefs():
    """Put the preferences of :data:`_OWNED_PREFS` back to their values before cortex_sim first
    changed them (recorded at the first activation, or when brian2cuda registered them)."""
    import copy

    from brian2 import prefs

    saved = _STATE.setdefault("prefs", {})
    for key in _OWNED_PREFS:
        try:
            value = prefs[key]
        except KeyError:   # a brian2cuda preference before brian2cuda was imported
            continue
        if key in saved:
            prefs[key] = copy.deepcopy(saved[key])
        else:
            saved[key] = copy.deepcopy(value)


@dataclass
class RunInfo:
    """Timings of one simulation (seconds)."""

    device: str
    build_s: float
    compile_s: float
    run_s: float
    project_dir: str | None = None
    compiled: bool = False
    run_dir: str | None = None   # where the binary ran (a private run folder, or the project)


def check_finite(net):
    """Raise SimulationDivergedError if a state variable of ``net`` holds NaN or inf after a run.

    Names the group and variable, and the first recorded time of the problem when a StateMonitor
    recorded that variable.
    """
    from brian2 import NeuronGroup, StateMonitor, Synapses

    monitored = {(m.source.name, v) for m in net.objects if isinstance(m, StateMonitor)
                 for v in m.record_variables}
    for obj in sorted(net.objects, key=lambda o: o.name):
        if not isinstance(obj, (NeuronGroup, Synapses)):
            continue
        # recorded variables first: for them the time of the divergence is known
        for name, var in sorted(obj.variables.items(), key=lambda kv: (obj.name, kv[0]) not in monitored):
            if name.startswith("_") or getattr(var, "dtype", None) is None or np.dtype(var.dtype).kind != "f":
                continue
            if getattr(var, "scalar", False) and name in ("t", "dt"):
                continue
            try:
                values = np.asarray(var.get_value())
            except (AttributeError, NotImplementedError, TypeError, OSError):  # subexpressions, no storage
                continue
            if values.size and not np.all(np.isfinite(values)):
                when = "by the end of the run"
                for mon in net.objects:
                    if isinstance(mon, StateMonitor) and mon.source is obj and name in mon.record_variables:
                        rec = np.asarray(getattr(mon, name + "_"))
                        bad = np.nonzero(~np.all(np.isfinite(rec), axis=0))[0]
                        if bad.size:
                            when = f"first at t = {float(mon.t_[bad[0]]) * 1e3:.1f} ms"
                raise SimulationDivergedError(
                    f"{obj.name}.{name}: got NaN or inf {when}; allowed: finite values (reduce dt, "
                    "check the input currents and parameters)")


#: measured on the Clopath benchmark (benchmarks/RESULTS.md, 2026-11-29): 40 B per synapse at 1e7
#: synapses (weights, indices, queues), a 30 MB process floor; 2 kB per neuron is generous
BYTES_PER_SYNAPSE = 40
BYTES_PER_NEURON = 2048
BASE_BYTES = 30 * 2**20


def estimate_memory_bytes(synapses, neurons):
    """Estimated peak memory of a C++ standalone network of ``synapses`` and ``neurons``."""
    return BASE_BYTES + synapses * BYTES_PER_SYNAPSE + neurons * BYTES_PER_NEURON


def available_memory_bytes():
    """Memory this process may still use: MemAvailable, or the cgroup's limit if it is lower."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    except OSError:
        pass
    if avail is None:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit, used = (open(f).read().strip() for f in (limit_file, usage_file))
        except OSError:
            continue
        if limit.isdigit() and used.isdigit():
            avail = min(avail, int(limit) - int(used))
    return avail


def check_memory(name, value, synapses, neurons):
    """Refuse, before anything is built, a network whose estimated memory exceeds 80 % of the
    available memory (ParameterError naming ``name``, ``value``, the estimate and the limit)."""
    from .errors import ParameterError

    memory, avail = estimate_memory_bytes(synapses, neurons), available_memory_bytes()
    if memory > 0.8 * avail:
        raise ParameterError(
            f"{name}: got {value}, {synapses:.3g} synapses, about {memory / 2**30:.1f} GiB at {BYTES_PER_SYNAPSE} B "
            f"per synapse; allowed: up to 80 % of the {avail / 2**30:.1f} GiB of memory available")
    return memory


def run_network(net, duration, *, device: str = "runtime", report=None, project_name="model",
                run_args=None, results_directory="results", compile_only: bool = False,
                private: bool | None = None) -> RunInfo:
    """Run ``net`` for ``duration`` on the active device (see :func:`activate`).

    For C++/CUDA the project is generated in ``cache_root()/<device>/<project_name>-<fingerprint>``,
    compiled only where sources changed, then run. Returns timings; ``RunInfo.compiled`` tells
    whether the binary was (re)built.

    ``private`` (default: True for C++): the project lock is held while generating and compiling only; the
    binary then runs in a run folder of this process's own (:func:`private_run_folder`), so
    processes running the same model with different static arrays (spike times) run in parallel.
    The folder stays until this process's next private run (the results are read from it). Without
    it the lock would be held for the whole run, and a process wanting the same project only to
    compile or run it waits that long (measured: a notebook waited 9 minutes on a test's runs).
    """
    import brian2

    check_choice("device", device, DEVICES)
    private = device == "cpp" and (True if private is None else bool(private))
    t0 = time.perf_counter()
    # Brian2's progress report costs a clock system call per step in standalone code (measured:
    # 67 s instead of 25 s for the pairing experiment), so standalone runs report by stage instead
    standalone = device != "runtime"
    if standalone:
        _check_built_on_this_device(net)
    t_start = float(net.t) if not standalone else 0.0
    net.run(duration, report=None if standalone else report, report_period=10 * brian2.second)
    if device == "runtime":
        run_s = time.perf_counter() - t0
        if float(net.t) - t_start < float(duration) * (1 - 1e-6):
            # Brian2's Ctrl-C handler stops a runtime run early instead of raising
            raise RunInterrupted(f"the simulation stopped at {float(net.t):g} s of {float(duration):g} s")
        check_finite(net)
        return RunInfo(device, 0.0, 0.0, run_s)
    dev = brian2.get_device()
    project = cache_root() / device / f"{project_name}-{network_fingerprint(net)}"
    project.mkdir(parents=True, exist_ok=True)
    failed = None   # (binary mtime, failure) of a first run whose binary failed: rebuilt once
    for attempt in (0, 1):
        # one process at a time per project folder (parallel sweeps use their own results folders)
        with open(project / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if failed is not None and binary_mtime(project) == failed[0]:   # not rebuilt by another process
                discard_build(project, f"its binary {failed[1]}")
            compiled, compile_s = build_project(dev, project, report=report, device=device)
            t2 = time.perf_counter()
            if compile_only:
                return RunInfo(device, (t2 - t0) - compile_s, compile_s, float("nan"), str(project), compiled=compiled)
            where = project
            if private:
                shutil.rmtree(_STATE.get("work") or project / "work" / "none", ignore_errors=True)
                where = _STATE["work"] = private_run_folder(project)
                dev.project_dir = str(where)
                fcntl.flock(lock, fcntl.LOCK_UN)
            progress(report, f"simulating {float(duration):g} s of biological time ...")
            mtime = binary_mtime(project)
            try:
                with run_clock(report, project):
                    device_run(dev, where, project, run_args=run_args, results_directory=results_directory,
                               what=f"the {project_name} simulation")
                break
            except RunFailedError as exc:
                if attempt == 1 or not exc.rebuild_may_help:
                    raise
                failed = (mtime, exc.how)
    check_completed(dev)
    t3 = time.perf_counter()
    run_s = getattr(dev, "_last_run_time", None)
    progress(report, f"simulated in {t3 - t2:.1f} s")
    check_finite(net)
    return RunInfo(device, (t2 - t0) - compile_s, compile_s, run_s if run_s is not None else t3 - t2,
                   str(project), compiled=compiled, run_dir=str(where))


def _check_built_on_this_device(net):
    """Refuse, in one line, a network built before Brian2's device was reset by a later
    :func:`activate` (another network's build): its arrays are gone from the device, and running it
    would fail deep inside Brian2 or read another network's state."""
    import brian2
    from brian2.core.variables import ArrayVariable

    arrays = getattr(brian2.get_device(), "arrays", None)
    if arrays is None:
        return
    for obj in net.objects:
        var = next((v for v in getattr(obj, "variables", {}).values()
                    if isinstance(v, ArrayVariable) and not getattr(v, "dynamic", False)), None)
        if var is not None and var not in arrays:
            raise JobFailedError(f"network {net.name}: its object {obj.name} was built before the simulation device "
                                 "was reset by another build (activate); build the network again after activate()")


