"""The benchmark network in NEST 3.10, the reference for `cortex-sim bench clopath` (not a test).

poisson_generator -> parrot_neuron (K) -> clopath_synapse (all-to-all, w0 = 0.5 mV, delay 1 ms)
-> aeif_psc_delta_clopath (N; NEST defaults with V_th_max = -30.4 mV, b = 80.5 pA), constant drive
I_e, dt = 0.1 ms. Prints one JSON line like the cortex-sim command (run_s = nest.Simulate alone).

Usage: python benchmarks/nest_clopath.py [--neurons 1000] [--inputs 200] [--rate 10] [--duration 1]
       [--drive 500] [--threads 2]
"""

import argparse
import json
import resource
import sys
import time


def run(neurons, inputs, rate, duration, drive, threads, seed=1):
    import nest

    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    nest.resolution = 0.1
    nest.local_num_threads = threads
    nest.rng_seed = seed
    t0 = time.perf_counter()
    post = nest.Create("aeif_psc_delta_clopath", neurons, params={"V_th_max": -30.4, "I_e": drive})
    gen = nest.Create("poisson_generator", params={"rate": rate})
    parrots = nest.Create("parrot_neuron", inputs)
    nest.Connect(gen, parrots)
    nest.Connect(parrots, post, "all_to_all", syn_spec={"synapse_model": "clopath_synapse", "weight": 0.5,
                                                        "delay": 1.0, "Wmax": 100.0})
    sr = nest.Create("spike_recorder")
    nest.Connect(post, sr)
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    nest.Simulate(duration * 1000.0)
    run_s = time.perf_counter() - t1
    n_spikes = sr.get("n_events")
    return {"synapses": neurons * inputs, "build_s": round(build_s, 3), "compile_s": 0.0,
            "run_s": round(run_s, 4), "post_rate_hz": n_spikes / neurons / duration, "device": "nest-3.10",
            "threads": threads, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main():
    from _common import network_args

    p = network_args(argparse.ArgumentParser())
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    print(json.dumps(run(a.neurons, a.inputs, a.rate, a.duration, a.drive, a.threads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
