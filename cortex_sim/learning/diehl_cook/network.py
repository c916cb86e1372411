"""The Diehl & Cook 2015 network, compiled once and run chunk after chunk (Brian2 standalone).

The equations, parameters and update order follow the authors' code (peter-u-diehl/stdp-mnist,
Brian 1; the facts are listed in the science reference, section 6):

- input: 784 Poisson channels, rate = pixel (0-255) / 8 x intensity; an image is shown for
  350 ms, then 150 ms without input (one *slot* of 500 ms), dt 0.5 ms, forward Euler (Brian 1's
  integrator for these non-linear equations);
- excitatory LIF neurons (tau 100 ms, rest -65 mV, reset -65 mV, refractory 5 ms), conductance
  synapses (excitatory reversal 0 mV, tau 1 ms; inhibitory -100 mV, tau 2 ms), adaptive threshold
  ``v > theta - 20 mV - 52 mV`` with ``theta += 0.05 mV`` per spike and a decay of 1e7 ms, and the
  authors' ``timer`` (reset to 0 at a spike, threshold only while ``timer > 5 ms``). Their code
  writes ``dtimer/dt = 100.0 : ms``, which Brian 1 reads as a dimensionless rate of 100 (100 ms
  per ms): the timer opens one step after a spike and the 5 ms refractory period is what limits
  the rate (``timer_rate = 100``, the default). Brian2's example port reads it as 100 ms per
  second (``timer_rate = 0.1``: 50 ms between spikes of a neuron); both are measured in
  benchmarks/RESULTS.md;
- inhibitory LIF neurons (tau 10 ms, rest -60 mV, threshold -40 mV, reset -45 mV, refractory 2 ms,
  inhibitory reversal -85 mV); excitatory -> inhibitory one to one (weight 10.4), inhibitory ->
  every other excitatory neuron (weight 17);
- input -> excitatory: all to all, delays uniform in [0, 10] ms, the authors' triplet STDP
  (depression ``eta_dep post1`` at a presynaptic spike, potentiation ``eta_pot pre post2`` at a
  postsynaptic spike, traces 20 / 20 / 40 ms, weights clipped to [0, 1]);
- every excitatory neuron's input weights are scaled to sum 78 at the start of every slot.

Differences from the authors' code, each for a reason:

- Input spikes are drawn in Python (Bernoulli per time step, as a Poisson group does) and streamed
  as a spike table: the run is then reproducible from the seed, so a resumed run is bit-identical.
- The normalisation runs inside the binary: each neuron keeps the running sum of its input weights
  (updated with every weight change) and the weights are scaled at the slot start; the authors
  scale them in Python between runs (the same operation, up to rounding).
- The delays are drawn once from a fixed seed (they are part of the compiled project's
  structure); the authors draw them per run.
- Chunk boundaries (every ``slots`` images) restart the conductances and the STDP traces; the
  membrane potential, the timer, the thresholds and the weights carry over. The 150 ms rest
  before every boundary leaves the fast variables at < 1e-3 of a spike's jump (the slow post2
  trace at 2 %).

The re-presentation rule (an image that gave fewer than 5 excitatory spikes is shown again with
the intensity raised by 1) is applied by the training driver (:mod:`.train`), one chunk later.
"""

from __future__ import annotations

import numpy as np

from ...errors import check_choice
from ...experiment import Built, CompiledExperiment

__all__ = ["DiehlCookNetwork"]

N_INPUT = 784
#: the input spike table reserves rows for this mean intensity per slot (the driver keeps every
#: chunk's total intensity within it)
INTENSITY_BUDGET = 4.0
NEVER_S = 1e9


def table_rows(slots, t_image_s, rate_per_intensity_hz=255 / 8, budget=INTENSITY_BUDGET):
    """Rows of the spike table: the most spikes a channel can emit in a chunk whose intensities sum
    to at most ``budget * slots``, with 8 standard deviations of margin."""
    mean = rate_per_intensity_hz * budget * slots * t_image_s
    return int(np.ceil(mean + 8 * np.sqrt(mean) + 8)) + 1


def slot_spike_table(rates, t_slot_s, t_image_s, dt_s, rng, n_rows):
    """Poisson spike times (s) of every channel over a chunk: slot ``s`` shows ``rates[s]`` (Hz)
    for ``t_image_s`` from ``s t_slot_s`` on, then nothing. Bernoulli draws per time step (at most
    one spike per channel and step, times on the dt grid); rows after a channel's last spike hold
    a time that never comes. Returns a (n_rows, n_channels) table."""
    from ...errors import ParameterError

    rates = np.asarray(rates, float)
    slots, n_ch = rates.shape
    steps_on = int(round(t_image_s / dt_s))
    steps_slot = int(round(t_slot_s / dt_s))
    p = rates * dt_s
    if np.any(p > 1) or np.any(p < 0) or not np.all(np.isfinite(p)):
        raise ParameterError("rates: got rates outside [0, 1/dt]; allowed: 0 <= rate <= 1/dt")
    steps_all, chans = [], []
    for s in range(slots):
        on = np.flatnonzero(p[s] > 0)
        if not len(on):
            continue
        hit = rng.random((steps_on, len(on))) < p[s, on]
        step_idx, k = np.nonzero(hit)
        steps_all.append(s * steps_slot + step_idx)
        chans.append(on[k])
    table = np.full((n_rows, n_ch), NEVER_S)
    if not chans:
        return table
    step, ch = np.concatenate(steps_all), np.concatenate(chans)
    order = np.lexsort((step, ch))
    step, ch = step[order], ch[order]
    counts = np.bincount(ch, minlength=n_ch)
    if counts.max() > n_rows - 1:
        raise ParameterError(f"rates: channel {int(np.argmax(counts))} got {int(counts.max())} spikes in one chunk; "
                             f"allowed: at most {n_rows - 1} (lower the intensity or the images per chunk)")
    row = np.arange(len(ch)) - np.repeat(np.cumsum(counts) - counts, counts)
    table[row, ch] = step * dt_s
    return table


class DiehlCookNetwork:
    """The compiled Diehl & Cook network of ``config.neurons`` excitatory and as many inhibitory
    neurons; one run of its binary shows ``config.slots`` images.

    Learning (STDP, threshold growth and decay, normalisation) is a run-time switch, so the frozen
    evaluation runs use the same binary.
    """

    def __init__(self, config, *, device="cpp", report=None, compile_only=False, compute_capability=None,
                 generate_only=False):
        check_choice("device", device, ("cpp", "cuda"))
        self.config, self.device = config, device
        c = config
        self.dt = c.dt_ms * 1e-3
        self.t_slot = (c.t_image_ms + c.t_rest_ms) * 1e-3
        self.t_image = c.t_image_ms * 1e-3
        self.slots, self.n_rows = c.slots, table_rows(c.slots, self.t_image)
        self.experiment = CompiledExperiment.for_learner(f"diehl_cook_{c.neurons}", self._build, device=device,
                                                         report=report, compile_only=compile_only,
                                                         generate_only=generate_only,
                                                         compute_capability=compute_capability)
        self.project = self.experiment.project
        self.compiled, self.compile_s = self.project.compiled, self.project.compile_s

    def _build(self):
        """The network on the active device (called by the CompiledExperiment), its inputs and outputs."""
        from brian2 import Network, NeuronGroup, SpikeMonitor, Synapses, TimedArray, mV, ms, second

        from ...devices import shared_clock, stable_clock

        c = self.config
        n, step = c.neurons, c.dt_ms * ms
        clock = shared_clock(step)
        slot_clock = stable_clock(self.t_slot * second, "dc_slot_clock")
        table = TimedArray(np.full((self.n_rows, N_INPUT), NEVER_S) * second, dt=1 * second,
                           name="dc_input_table")
        inp = NeuronGroup(N_INPUT, "t_next : second  # time of the next input spike\n"
                                   "k_spike : 1  # spikes emitted so far",
                          threshold="t >= t_next - 0.5*dt", reset="k_spike += 1\nt_next = dc_table(k_spike*second, i)",
                          namespace={"dc_table": table}, name="dc_input", clock=clock)
        membrane = ("dv/dt = (v_rest - v + ge*(-v) + gi*(v_inh - v))/tau_m : volt (unless refractory)\n"
                    "dge/dt = -ge/tau_ge : 1  # excitatory conductance (units of the leak)\n"
                    "dgi/dt = -gi/tau_gi : 1  # inhibitory conductance\n")
        exc = NeuronGroup(
            n, membrane + "dtimer/dt = timer_rate : second  # the authors' timer\n"
                          "dtheta/dt = -theta*theta_rate : volt  # adaptive threshold\n"
                          "theta_rate : hertz (shared)  # 1/tau_theta while learning, 0 frozen\n"
                          "theta_plus : volt (shared)  # threshold jump per spike, 0 frozen\n"
                          "wsum : 1  # running sum of the input weights (normalisation)\n"
                          "norm_on : 1 (shared)  # 1: normalise the input weights at every slot start",
            threshold="v > theta - offset + v_thresh and timer > refrac", reset="v = v_reset\ntheta += theta_plus\n"
            "timer = 0*ms", refractory=c.refrac_e_ms * ms, method="euler", name="dc_exc", clock=clock,
            namespace={"v_rest": -65 * mV, "v_inh": -100 * mV, "tau_m": 100 * ms, "tau_ge": 1 * ms, "tau_gi": 2 * ms,
                       "offset": 20 * mV, "timer_rate": c.timer_rate, "v_thresh": -52 * mV, "v_reset": -65 * mV, "refrac": c.refrac_e_ms * ms})
        inh = NeuronGroup(n, membrane, threshold="v > -40*mV", reset="v = -45*mV", refractory=2 * ms, method="euler",
                          name="dc_inh", clock=clock,
                          namespace={"v_rest": -60 * mV, "v_inh": -85 * mV, "tau_m": 10 * ms, "tau_ge": 1 * ms,
                                     "tau_gi": 2 * ms})
        inh.v = -100 * mV   # the authors' start, 40 mV below rest (at 0 mV all would fire at once)
        ee = Synapses(inp, exc, "w : 1  # input weight in [0, w_max]\n"
                                "dpre/dt = -pre/tau_pre : 1 (event-driven)\n"
                                "dpost1/dt = -post1/tau_post1 : 1 (event-driven)\n"
                                "dpost2/dt = -post2/tau_post2 : 1 (event-driven)\n"
                                "eta_dep : 1 (shared)  # depression rate (0 frozen)\n"
                                "eta_pot : 1 (shared)  # potentiation rate (0 frozen)",
                      on_pre="ge_post += w\npre = 1\nw_new = clip(w - eta_dep*post1, 0, w_max)\n"
                             "wsum_post += w_new - w\nw = w_new",
                      on_post="w_new = clip(w + eta_pot*pre*post2, 0, w_max)\nwsum_post += w_new - w\nw = w_new\n"
                              "post1 = 1\npost2 = 1",
                      namespace={"tau_pre": c.tau_pre_ms * ms, "tau_post1": c.tau_post1_ms * ms,
                                 "tau_post2": c.tau_post2_ms * ms, "w_max": c.w_max},
                      name="dc_input_exc", clock=clock)
        ee.connect()
        ee.delay = np.random.default_rng(12345).uniform(0, c.delay_max_ms, N_INPUT * n) * ms
        # the authors' normalisation before every image: sum_i w_ij = w_total (0: off, frozen runs)
        ee.run_regularly("w = w*(1 - norm_on_post + norm_on_post*w_total/wsum_post)", clock=slot_clock, when="start", order=0,
                         name="dc_normalise")
        ee.namespace.update({"w_total": c.w_total})
        exc.namespace["w_total"] = c.w_total
        exc.run_regularly("wsum = wsum*(1 - norm_on) + norm_on*w_total", clock=slot_clock, when="start", order=1,
                          name="dc_normalised")
        ei = Synapses(exc, inh, on_pre=f"ge_post += {c.w_exc_inh!r}", name="dc_exc_inh", clock=clock)
        ei.connect(j="i")
        ie = Synapses(inh, exc, on_pre=f"gi_post += {c.w_inh_exc!r}", name="dc_inh_exc", clock=clock)
        ie.connect(condition="i != j")
        spikes = SpikeMonitor(exc, name="dc_exc_spikes")
        inputs = {"table": table, "t_next": inp.t_next, "w": ee.w, "wsum": exc.wsum, "theta": exc.theta,
                        "v": exc.v, "timer": exc.timer, "theta_rate": exc.theta_rate, "theta_plus": exc.theta_plus,
                        "eta_dep": ee.eta_dep, "eta_pot": ee.eta_pot, "norm_on": exc.norm_on}
        outputs = {"w": ee.w, "theta": exc.theta, "v": exc.v, "timer": exc.timer, "spikes_i": spikes.i,
                   "spikes_t": spikes.t}
        return Built(Network(inp, exc, inh, ee, ei, ie, spikes, name="diehl_cook"), self.slots * self.t_slot * second,
                     inputs=inputs, outputs=outputs)

    def initial_state(self, seed):
        """The authors' initial state: input weights (U(0, 1) + 0.01) x 0.3 from ``seed``, thresholds
        theta = 20 mV, membranes 40 mV below rest, timers open."""
        c = self.config
        rng = np.random.default_rng([seed, 0])
        w = (rng.random(N_INPUT * c.neurons) + 0.01) * 0.3
        return {"w": w, "theta": np.full(c.neurons, c.theta0_mV * 1e-3), "v": np.full(c.neurons, -105e-3),
                "timer": np.full(c.neurons, 1.0)}

    def run_chunk(self, state, rates, rng, *, learn=True):
        """Show one chunk: ``rates`` (slots, 784) in Hz (a row of zeros: an unused slot). Returns
        (new state, counts (slots, n) of excitatory spikes in each slot's image period, info)."""
        c = self.config
        rates = np.asarray(rates, float)
        if rates.shape != (self.slots, N_INPUT):
            from ...errors import ParameterError

            raise ParameterError(f"rates: got shape {rates.shape}; allowed: ({self.slots}, {N_INPUT})")
        table = slot_spike_table(rates, self.t_slot, self.t_image, self.dt, rng, self.n_rows)
        w = np.asarray(state["w"], float)
        values = {"table": table, "t_next": table[0], "w": w,
                  "wsum": w.reshape(N_INPUT, c.neurons).sum(axis=0), "theta": state["theta"], "v": state["v"],
                  "timer": state["timer"], "theta_rate": 1e3 / c.tc_theta_ms if learn else 0.0,
                  "theta_plus": c.theta_plus_mV * 1e-3 if learn else 0.0, "eta_dep": c.nu_pre if learn else 0.0,
                  "eta_pot": c.nu_post if learn else 0.0, "norm_on": 1.0 if learn else 0.0}
        out = self.experiment.run_raw(values, what="the Diehl & Cook chunk")
        wall = self.experiment.last_run_s
        new = dict(state)
        if learn:
            new.update({k: out[k].astype(float) for k in ("w", "theta", "v", "timer")})
        i, t = out["spikes_i"].astype(np.int64), out["spikes_t"]
        slot = np.floor(t / self.t_slot + 1e-9).astype(np.int64)
        keep = (t - slot * self.t_slot < self.t_image - 0.5 * self.dt) & (slot < self.slots)
        counts = np.bincount(slot[keep] * c.neurons + i[keep], minlength=self.slots * c.neurons)
        return new, counts.reshape(self.slots, c.neurons), {"wall_s": wall}

    def close(self):
        self.project.close()
