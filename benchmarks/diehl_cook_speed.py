"""Diehl & Cook 2015: images per second of cortex_sim's compiled stream against the way users of
Brian2's example run the model (runtime device, one ``net.run`` per image and per rest, weights
normalised in Python before every image), in the same benchmark run on the same machine.

    python benchmarks/diehl_cook_speed.py [--neurons 100 400] [--images 200] [--runtime-images 20]

The runtime loop is written here from the model's equations (cortex_sim.learning.diehl_cook.network),
with a PoissonGroup input as the example has; its dt is Brian2's default 0.1 ms, as the example
leaves it, and 0.5 ms (the authors'). It is timed over ``--runtime-images`` images after one
warm-up image (Cython compiled and cached) and extrapolated to the 4000 training images of an
mnist5k epoch. Rows are appended to benchmarks/RESULTS.md.
"""

import argparse
import time

import numpy as np

from _common import machine, record, today


def runtime_network(n, dt_ms):
    """The authors' network on Brian2's runtime device, PoissonGroup input, STDP on."""
    from brian2 import (Network, NeuronGroup, PoissonGroup, SpikeMonitor, Synapses, defaultclock, Hz, mV, ms,
                        prefs, set_device)

    set_device("runtime")
    prefs.codegen.target = "cython"
    defaultclock.dt = dt_ms * ms
    membrane = ("dv/dt = (v_rest - v + ge*(-v) + gi*(v_inh - v))/tau_m : volt (unless refractory)\n"
                "dge/dt = -ge/(1*ms) : 1\ndgi/dt = -gi/(2*ms) : 1\n")
    exc = NeuronGroup(n, membrane + "dtimer/dt = 100 : second\ndtheta/dt = -theta/(1e7*ms) : volt",
                      threshold="v > theta - 72*mV and timer > 5*ms", reset="v = -65*mV\ntheta += 0.05*mV\n"
                      "timer = 0*ms", refractory=5 * ms, method="euler",
                      namespace={"v_rest": -65 * mV, "v_inh": -100 * mV, "tau_m": 100 * ms})
    inh = NeuronGroup(n, membrane, threshold="v > -40*mV", reset="v = -45*mV", refractory=2 * ms, method="euler",
                      namespace={"v_rest": -60 * mV, "v_inh": -85 * mV, "tau_m": 10 * ms})
    exc.v, inh.v, exc.theta = -105 * mV, -100 * mV, 20 * mV
    inp = PoissonGroup(784, 0 * Hz)
    ee = Synapses(inp, exc, "w : 1\ndpre/dt = -pre/(20*ms) : 1 (event-driven)\n"
                            "dpost1/dt = -post1/(20*ms) : 1 (event-driven)\ndpost2/dt = -post2/(40*ms) : 1 (event-driven)",
                  on_pre="ge_post += w\npre = 1\nw = clip(w - 1e-4*post1, 0, 1)",
                  on_post="w = clip(w + 1e-2*pre*post2, 0, 1)\npost1 = 1\npost2 = 1")
    ee.connect()
    ee.delay = "rand()*10*ms"
    ee.w = "(rand() + 0.01)*0.3"
    ei = Synapses(exc, inh, on_pre="ge_post += 10.4")
    ei.connect(j="i")
    ie = Synapses(inh, exc, on_pre="gi_post += 17.0")
    ie.connect(condition="i != j")
    spikes = SpikeMonitor(exc)
    net = Network(inp, exc, inh, ee, ei, ie, spikes)
    net.run(0 * ms)
    return net, inp, ee, spikes


def time_runtime(n, images, dt_ms, x):
    from brian2 import Hz, ms

    net, inp, ee, spikes = runtime_network(n, dt_ms)

    def show(img):
        wm = np.asarray(ee.w[:]).reshape(784, n)
        ee.w[:] = (wm * (78.0 / wm.sum(axis=0))).ravel()
        before = spikes.count[:].copy()
        inp.rates = x[img] * 2 * Hz
        net.run(350 * ms)
        inp.rates = 0 * Hz
        net.run(150 * ms)
        return int((spikes.count[:] - before).sum())

    show(0)                                    # warm-up: Cython code compiled (and cached)
    t0 = time.perf_counter()
    for k in range(1, images + 1):
        show(k)
    return images / (time.perf_counter() - t0)


def time_compiled(n, images, ds):
    from cortex_sim.learning.diehl_cook import DiehlCookConfig, DiehlCookNetwork, train_diehl_cook

    cfg = DiehlCookConfig(neurons=n, epochs=1, max_train_images=images, curve=())
    net = DiehlCookNetwork(cfg)
    trained, _ = train_diehl_cook(ds, cfg, 0, net=net, progress=False)
    net.close()
    return trained.presentations / trained.train_s, trained.retries


def main():
    from cortex_sim.learning.data import load_dataset

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--neurons", type=int, nargs="+", default=[100, 400])
    p.add_argument("--images", type=int, default=200, help="images of the compiled run")
    p.add_argument("--runtime-images", type=int, default=10, help="images of each runtime-device run")
    a = p.parse_args()
    ds = load_dataset("mnist5k")
    x = ds.images[ds.train].reshape(len(ds.train), -1) * 255 / 8
    rows = []
    for n in a.neurons:
        ours, retries = time_compiled(n, a.images, ds)
        rt01 = time_runtime(n, a.runtime_images, 0.1, x)
        rt05 = time_runtime(n, a.runtime_images, 0.5, x)
        rows.append((n, ours, retries, rt01, rt05))
    record("")
    record(f"Diehl & Cook speed, {today()}, {machine()} (`benchmarks/diehl_cook_speed.py`: compiled stream "
           f"{a.images} training images incl. re-presentations; runtime loop {a.runtime_images} images after a warm-up)")
    record("")
    record("| neurons | cortex_sim img/s | epoch of 4000 (min) | runtime loop dt 0.1 ms img/s | epoch (min) | "
           "runtime loop dt 0.5 ms img/s | epoch (min) | speed-up vs dt 0.1 / 0.5 |")
    record("|---|---|---|---|---|---|---|---|")
    for n, ours, retries, rt01, rt05 in rows:
        record(f"| {n} | {ours:.1f} | {4000 / ours / 60:.1f} | {rt01:.2f} | {4000 / rt01 / 60:.0f} | {rt05:.2f} | "
               f"{4000 / rt05 / 60:.0f} | {ours / rt01:.0f}x / {ours / rt05:.0f}x |")


if __name__ == "__main__":
    main()
