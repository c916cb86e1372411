"""
A protocol of your own, swept on two workers
============================================

Any Brian2 network becomes a cortex_sim experiment by writing one
:class:`~cortex_sim.experiment.Protocol`: what it builds, which inputs a run may change without
recompiling (``sweepable``), which outputs it reads back and how they become a result. Here: the
f-I curve of a leaky integrate-and-fire neuron. The protocol is compiled once (C++ standalone,
cached) and the current is set per run through Brian2's ``run_args``;
:func:`~cortex_sim.sweeps.protocol_job` turns it into a sweep job that the Dask engine runs on two
local workers, with no edit to the engine.
"""

import matplotlib.pyplot as plt
from brian2 import Network, NeuronGroup, SpikeMonitor, mV, ms, nA, Mohm

from cortex_sim.experiment import Built, Protocol, run
from cortex_sim.sweeps import protocol_job, run_sweep


class FICurve(Protocol):
    """Firing rate of a LIF neuron against a constant input current."""

    name = "fi_curve"
    sweepable = {"current": nA}          # set per run, no recompile

    def __init__(self, tau_m=20 * ms, duration=500 * ms):
        self.tau_m, self.duration = tau_m, duration

    def build(self):
        G = NeuronGroup(1, """dv/dt = (-(v - E_L) + R * I) / tau_m : volt (unless refractory)
                              I : amp (shared, constant)""",
                        threshold="v > -50*mV", reset="v = -70*mV", refractory=2 * ms, method="exact",
                        namespace={"E_L": -70 * mV, "R": 100 * Mohm, "tau_m": self.tau_m}, name="fi_neuron")
        G.v = -70 * mV
        spikes = SpikeMonitor(G, name="fi_spikes")
        return Built(Network(G, spikes), self.duration, inputs={"current": G.I},
                     outputs={"spike_t": spikes.variables["t"]})

    def run_args(self, built, values):
        return {"current": values.get("current", 0.0) * 1e-9}       # nA -> A (SI)

    def analyse(self, built, raw, values):
        return {"rate_hz": len(raw["spike_t"]) / float(self.duration)}


# %%
# One run, compiled on first use; then the same protocol as a sweep job on a local Dask cluster of
# two workers (each finds the compiled project in the cache and re-runs it with its point's
# current). Dask's workers are new processes that import this script again, hence the main guard.
if __name__ == "__main__":
    result, timings = run(FICurve(), {"current": 0.3})
    print(result, f"(compile {timings['compile_s']:.1f} s, run {timings['run_s']:.2f} s)")

    job = protocol_job("fi_curve", lambda options: FICurve(**(options or {})), plot="rate_hz")
    res = run_sweep(job, {"current": [0.1, 0.2, 0.25, 0.3, 0.4, 0.6]}, {"tau_m": 20 * ms}, cluster="local:2",
                    figure=False)
    rates = res.dataset["rate_hz"]
    print(rates.values)
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(rates["current"], rates, marker="o")
    ax.set_xlabel("current (nA)")
    ax.set_ylabel("rate (Hz)")
