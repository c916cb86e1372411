"""The Clopath network benchmark behind ``cortex-sim bench clopath``.

N neurons of the NEST-mirroring AdEx-Clopath preset (NEST 3.10 ``aeif_psc_delta_clopath``
defaults, V_th_max = -30.4 mV, b = 80.5 pA), each receiving all K independent Poisson inputs at R Hz
through plastic Clopath synapses (delta synapses, w0 = 0.5 mV, delay 1 ms), a constant drive,
dt = 0.1 ms. ``run_s`` is the simulation loop alone as Brian2 standalone measures it.
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np
from brian2 import Hz, mV, ms, pA, second

from .devices import check_device_available, check_memory, estimate_memory_bytes
from .reporting import progress
from .errors import ParameterError, check_choice, check_int, check_number
from .experiment import Built, CompiledExperiment, Protocol, run
from ._choices import METHODS, PRECISIONS
from .networks import feedforward_clopath

__all__ = ["bench_clopath", "BenchProtocol"]

FORMULATIONS = ("accumulator", "event", "naive")


# runs the standalone binary and writes its own peak resident memory (kB) next to it, so that the
# compiler's memory (also a child of this process) does not count
# (a binary killed by a signal kills the wrapper with the same signal, so the failure reads the same)
_RSS_WRAPPER = ("import os, resource, signal, subprocess, sys; r = subprocess.call(sys.argv[1:]); "
                "open('peak_rss_kb.txt', 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
                "r < 0 and (signal.signal(-r, signal.SIG_DFL), os.kill(os.getpid(), -r)); sys.exit(r)")


def _peak_rss_mb(device, project_dir):
    if device != "cpp" or project_dir is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    with open(f"{project_dir}/peak_rss_kb.txt") as f:
        return float(f.read()) / 1024.0


#: measured on this benchmark (benchmarks/RESULTS.md, accumulator form, dt 0.1 ms): about 30 ns per
#: neuron and step (rk4_exact, double; 60 ns before the neuron loop was vectorised, 2026-12-07), about
#: 17 ns per synaptic arrival (memory: devices.estimate_memory_bytes)
NS_PER_NEURON_STEP = 30
NS_PER_ARRIVAL = 17


def estimate_clopath_bench(neurons, inputs, rate_hz, duration_s, dt_ms=0.1):
    """Estimated peak memory (bytes) and simulation wall time (s) of :func:`bench_clopath`
    (C++ standalone, one thread), from the per-synapse and per-step costs measured above."""
    synapses = neurons * inputs
    memory = estimate_memory_bytes(synapses, neurons)
    steps = duration_s / (dt_ms * 1e-3)
    wall = (steps * neurons * NS_PER_NEURON_STEP + synapses * rate_hz * duration_s * NS_PER_ARRIVAL) * 1e-9
    return memory, wall


def bench_clopath(*, neurons=1000, inputs=200, rate_hz=10.0, duration_s=1.0, device="cpp", threads=1,
                  drive_pA=500.0, formulation="accumulator", dt_ms=0.1, seed=1, compile_only=False,
                  compute_capability=None, max_wall_s=None, report=None, quick_compile=False,
                  method="rk4_exact", precision="double"):
    """Build, compile and run the benchmark network; return the timing dict of the CLI.

    Before anything is built, the memory estimate (:func:`estimate_clopath_bench`) must fit in the
    available memory, and the estimated wall time in ``max_wall_s`` when it is given; otherwise a
    ParameterError names the estimate and the limit.
    """
    check_int("neurons", neurons, low=1)
    check_int("inputs", inputs, low=1)
    check_number("duration", duration_s, low=0, low_open=True)
    check_int("threads", threads, low=1)
    check_choice("formulation", formulation, FORMULATIONS)
    check_choice("method", method, METHODS)
    check_choice("precision", precision, PRECISIONS)
    check_number("dt", dt_ms, low=0, low_open=True, high=10)
    # magnitudes a neuron model can mean: a Poisson input of at most 1 kHz (and at most
    # one spike per step), a drive within +-10 nA (an AdEx neuron fires at ~100 Hz with 1 nA)
    if not 0 <= check_number("rate", rate_hz) <= min(1000.0, 1e3 / dt_ms):
        raise ParameterError(f"rate: got {rate_hz:g} Hz; allowed: 0 to {min(1000.0, 1e3 / dt_ms):g} Hz (Poisson "
                             "input rates; at most one spike per time step)")
    if abs(check_number("drive", drive_pA)) > 10_000:
        raise ParameterError(f"drive: got {drive_pA:g} pA; allowed: -10000 to 10000 pA (values are in pA: 500 pA "
                             "= 0.5 nA)")
    check_memory("neurons x inputs", f"{neurons} x {inputs}", neurons * inputs, neurons)
    if quick_compile and not compile_only:
        raise ParameterError("quick_compile: got True without compile_only; allowed: with compile_only (an "
                             "unoptimised binary is a compile check, not a benchmark)")
    memory, wall = estimate_clopath_bench(neurons, inputs, rate_hz, duration_s, dt_ms)
    if not compile_only and max_wall_s is not None and wall > max_wall_s:
        raise ParameterError(
            f"duration: an estimated {wall / 60:.0f} min of simulation ({neurons * inputs:.3g} synapses, "
            f"{duration_s:g} s); allowed: up to {max_wall_s / 60:.0f} min (--yes to go past)")
    check_device_available(device, compile_only=compile_only)
    progress(report, f"bench clopath: {neurons} x {inputs} synapses on {device}, estimated "
                      f"{memory / 2**20:.0f} MB and {wall:.1f} s of simulation; building the network ...")
    protocol = BenchProtocol(neurons=neurons, inputs=inputs, rate_hz=rate_hz, duration_s=duration_s, drive_pA=drive_pA,
                             formulation=formulation, dt_ms=dt_ms, seed=seed, method=method, precision=precision,
                             device=device, threads=threads, quick_compile=quick_compile)
    n_syn = neurons * inputs
    record = {"synapses": n_syn, "device": device, "formulation": formulation}
    t0 = time.perf_counter()
    if device == "runtime":
        result, timings = run(protocol, device="runtime", codegen_target="cython", report=report)
        compile_s, run_s, peak = 0.0, timings["run_s"], _peak_rss_mb(device, None)
        build_s = time.perf_counter() - t0 - run_s
    else:
        exp = CompiledExperiment(protocol, device=device, threads=threads, report=report, codegen_target="cython",
                                 compile_only=compile_only, compute_capability=compute_capability,
                                 quick_compile=quick_compile)
        compile_s = exp.compile_s if exp.project.compiled else 0.0
        build_s = time.perf_counter() - t0 - compile_s
        if compile_only:
            exp.close()
            return {**record, "build_s": round(build_s, 3), "compile_s": round(compile_s, 3), "compiled": True,
                    "project_dir": str(exp.project.project)}
        try:
            result = exp.run()
            run_s, peak = exp.sim_s, _peak_rss_mb(device, exp.project.work)
        finally:
            exp.close()
    return {**record, "build_s": round(build_s, 3), "compile_s": round(compile_s, 3), "run_s": round(float(run_s), 4),
            "post_rate_hz": result["post_rate_hz"], "threads": threads, "peak_rss_mb": round(peak, 1),
            "method": method, "precision": precision, "mean_weight": result["mean_weight"]}


class BenchProtocol(Protocol):
    """The benchmark network as a :class:`~cortex_sim.experiment.Protocol` (parameters as
    :func:`bench_clopath`); its result is the postsynaptic rate and the mean final weight."""

    def __init__(self, *, neurons=1000, inputs=200, rate_hz=10.0, duration_s=1.0, drive_pA=500.0,
                 formulation="accumulator", dt_ms=0.1, seed=1, method="rk4_exact", precision="double", device="cpp",
                 threads=1, quick_compile=False):
        self.neurons, self.inputs, self.rate_hz, self.duration_s = neurons, inputs, rate_hz, duration_s
        self.drive_pA, self.formulation, self.dt_ms, self.seed = drive_pA, formulation, dt_ms, seed
        self.method, self.precision, self.device = method, precision, device
        # one cache folder per variant (timings of different variants never share a binary)
        self.name = f"bench_{formulation}_{method}_{precision}_t{threads}" + ("_check" if quick_compile else "")

    def build(self):
        if self.device == "cpp":   # activate() restores the previous run command before the next build
            from brian2 import prefs

            prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, "-c", _RSS_WRAPPER, "./main"]
        ff = feedforward_clopath(self.neurons, self.inputs, rate=self.rate_hz * Hz, duration=self.duration_s * second,
                                 drive=self.drive_pA * pA, w0=0.5, psp=1 * mV, delay=1 * ms, dt=self.dt_ms * ms,
                                 seed=self.seed, formulation=self.formulation, neuron="nest", rule="nest", name="bench",
                                 method=self.method, precision=self.precision, record_spikes=False,
                                 # the ring-buffer function has C++ and NumPy code only (runtime: Cython)
                                 delay_impl=None if self.device == "cpp" else "register")
        outputs = {"n_spikes": ff.post.variables["n_spikes"], **ff.projection.final_outputs()}
        return Built(ff.net, self.duration_s * second, outputs=outputs, state={"projection": ff.projection})

    def analyse(self, built, raw, values):
        w = built.state["projection"].weights_from(raw, self.duration_s)
        return {"post_rate_hz": float(np.sum(raw["n_spikes"])) / self.neurons / self.duration_s,
                "mean_weight": float(np.mean(w))}
