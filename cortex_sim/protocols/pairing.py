"""The Grewe-lab pairing experiment (lecture; Aceituno et al. 2024) on the two-compartment neuron.

A layer-5 neuron with two basal pathways (A, B) and an apical pathway. Extracellular stimulation
of pathway A at strength s1 recruits ``n_s1`` fibers and evokes a test EPSP of a few mV; at s2 it
recruits ``n_s2`` fibers (the s1 fibers among them) and the cell fires one isolated spike. Basal
synapses follow the Clopath rule on the somatic voltage v_s, with the broadcast gate on (M = +1).

Timeline (every neuron of the experiment runs it at the same times, side by side in one network):

    tests (baseline) | block 1: 8 trials at 0.1 Hz | tests | block 2: trials at 0.1 Hz | tests

- ``main`` neuron: block 1 = s2 alone (one spike per trial), block 2 = s2 paired with apical
  stimulation (burst + plateau). Pathway B is tested in every test block and never stimulated
  otherwise (input specificity).
- ``apical_alone`` control: block 2 = apical stimulation alone.
- window neurons: block 2 = s2 paired with apical input at a delay from ``window_delays``.
- count neurons: block 2 = ``n`` pairings for each ``n`` in ``pairing_counts``.

The EPSP amplitude of a test is measured from the simulated somatic voltage (peak within 20 ms
after the test minus the mean of the 5 ms before), and ``epsp_ratio`` is the mean amplitude in the
test block after an induction block over the one before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from brian2 import Network, SpikeMonitor, StateMonitor, Synapses, mV, ms, nA, second

from ..devices import shared_clock, stable_clock
from ..errors import ParameterError, check_choice, check_int, check_quantity
from ..experiment import Built, Protocol, monitor_array, run
from ..inputs import padded_count, padded_rows, scheduled_spikes, spike_table_array
from ..models import build_neuron_group, two_compartment
from ..params import P, ClopathParams, TwoCompartmentParams, ParamSet, check_dt, preset
from ..plasticity.clopath import FORMULATIONS, clopath_synapses

__all__ = ["PairingConfig", "PairingResult", "PairingProtocol", "run_pairing"]


@dataclass(frozen=True)
class PairingConfig(ParamSet):
    """Parameters of the pairing experiment (Grewe lab; Aceituno et al. 2024).

    Quantities carry Brian2 units; every field is checked on construction (:meth:`check`).

    Parameters
    ----------
    n_s1, n_s2, n_b : int
        Basal fibers recruited by the test stimulus s1 (6), by the strong stimulus s2 (44, the s1
        fibers among them: one somatic spike), and of the test pathway B (4).
    psp : Quantity (mV)
        Somatic voltage jump per unit weight (1 mV; with ``w0`` = 0.5, 0.5 mV per fiber).
    w0 : float
        Initial basal weight.
    syn_delay : Quantity (ms)
        Basal synaptic delay (1 ms).
    apical_amp, tau_apical : Quantity (nA, ms)
        Peak and decay of the apical synaptic current (1.2 nA, 5 ms).
    apical_delay : Quantity (ms)
        Apical onset relative to the arrival of s2 at the soma (0 ms).
    n_pairings : int
        Trials per induction block (8).
    trial_interval, test_interval : Quantity (s)
        Interval of the induction trials (10 s: 0.1 Hz as in the experiment) and of the test
        stimuli (5 s); 300 ms to 1 h.
    n_tests : int
        Test stimuli per test block (3).
    window_delays : tuple of float (ms)
        Apical delays of the coincidence-window neurons run alongside (empty: none).
    pairing_counts : tuple of int
        Numbers of pairings of the count neurons run alongside (empty: none).
    dt : Quantity (ms)
        Time step (0.1 ms).

    Examples
    --------
    >>> from brian2 import ms, second
    >>> cfg = PairingConfig(trial_interval=2 * second, apical_delay=5 * ms, window_delays=())
    """

    n_s1: int = 6                    # fibers recruited by the test stimulus s1
    n_s2: int = 44                   # fibers recruited by the strong stimulus s2 (includes the s1 fibers)
    n_b: int = 4                     # fibers of the weaker test pathway B
    psp: object = P(1.0 * mV, mV, "somatic voltage jump per unit weight (w0 = 0.5: 0.5 mV per fiber)", positive=True)
    w0: float = 0.5                  # initial basal weight
    syn_delay: object = P(1 * ms, ms, "basal synaptic delay", nonnegative=True)
    apical_amp: object = P(1.2 * nA, nA, "peak of the apical synaptic current", nonnegative=True)
    tau_apical: object = P(5 * ms, ms, "decay of the apical synaptic current", tau=True)
    apical_delay: object = P(0 * ms, ms, "apical onset relative to the arrival of s2 at the soma")
    n_pairings: int = 8              # trials per induction block
    trial_interval: object = P(10 * second, ms, "interval of induction trials (0.1 Hz as in the experiment)", positive=True)
    test_interval: object = P(5 * second, ms, "interval of test stimuli", positive=True)
    n_tests: int = 3                 # test stimuli per test block
    window_delays: tuple = (-20.0, -10.0, -5.0, 0.0, 5.0, 10.0, 20.0, 40.0)  # ms
    pairing_counts: tuple = (1, 2, 4, 8, 16)
    dt: object = P(0.1 * ms, ms, "time step", positive=True)

    def _check(self):
        self.check()

    def check(self):
        for name in ("n_s1", "n_s2", "n_b", "n_pairings", "n_tests"):
            check_int(name, getattr(self, name), low=1)
        if self.n_s1 > self.n_s2:
            raise ParameterError(f"n_s1: got {self.n_s1}; allowed: at most n_s2 ({self.n_s2})")
        check_quantity("psp", self.psp, mV, positive=True)
        check_quantity("syn_delay", self.syn_delay, ms, nonnegative=True)
        check_quantity("apical_amp", self.apical_amp, nA, nonnegative=True)
        check_quantity("tau_apical", self.tau_apical, ms, positive=True)
        check_quantity("trial_interval", self.trial_interval, ms, positive=True)
        check_quantity("test_interval", self.test_interval, ms, positive=True)
        check_quantity("dt", self.dt, ms, positive=True)
        for d in (self.apical_delay / ms, *self.window_delays):
            if not np.isfinite(float(d)) or abs(float(d)) * ms >= self.trial_interval / 2:
                raise ParameterError(
                    f"apical delay: got {float(d)} ms; allowed: |delay| < half the trial interval "
                    f"({float(self.trial_interval / ms) / 2} ms)")
        for n in self.pairing_counts:
            check_int("pairing_counts", n, low=1)
        if self.trial_interval < 300 * ms or self.test_interval < 300 * ms:
            raise ParameterError(
                "trial_interval/test_interval: allowed: >= 300 ms, so that each response and its "
                "traces have decayed before the next stimulus")
        return self


@dataclass
class PairingResult:
    config: PairingConfig
    baseline_epsp_mV: float
    conditions: dict
    window: list
    counts: list
    epsp_A_mV: np.ndarray             # (n_tests_total,) main neuron, pathway A
    epsp_times_s: np.ndarray
    weight_t_s: np.ndarray
    weight_A: np.ndarray              # mean weight of the s1 fibers of the main neuron over time
    traces: dict = field(default_factory=dict)
    blocks: dict = field(default_factory=dict)
    final_weights: np.ndarray | None = None  # every basal weight at the end (pending LTP applied)

    def to_dict(self):
        return {"baseline_epsp_mV": self.baseline_epsp_mV, "conditions": self.conditions,
                "window": self.window, "pairing_counts": self.counts}


def block_schedule(cfg):
    """Times (s) of the test stimuli per block and of the trials of the two induction blocks."""
    T_te, T_tr = float(cfg.test_interval), float(cfg.trial_interval)
    n2 = max([cfg.n_pairings, *cfg.pairing_counts])
    t = 1.0
    blocks = {}
    for name, n, step in (("test0", cfg.n_tests, T_te), ("block1", cfg.n_pairings, T_tr),
                          ("test1", cfg.n_tests, T_te), ("block2", n2, T_tr), ("test2", cfg.n_tests, T_te)):
        blocks[name] = t + step * np.arange(n)
        t = blocks[name][-1] + step
    return blocks, t


def _roles(cfg):
    """Neuron roles: (label, block-1 kind, block-2 kind, apical delay (s), trials in block 2)."""
    d_main = float(cfg.apical_delay / second)
    roles = [("main", "spike", "paired", d_main, cfg.n_pairings),
             ("apical_alone", None, "apical", d_main, cfg.n_pairings)]
    roles += [(f"window_{d:g}", None, "paired", d / 1000.0, cfg.n_pairings) for d in cfg.window_delays]
    roles += [(f"count_{n}", None, "paired", d_main, n) for n in cfg.pairing_counts]
    return roles


def _inputs(cfg, blocks, roles):
    """Spike times of the basal fibers (per neuron: n_s2 A fibers, then n_b B fibers) and apical inputs."""
    delay_s = float(cfg.syn_delay / second)
    fibers, apical = [], []
    tests_a = np.concatenate([blocks["test0"], blocks["test1"], blocks["test2"]])
    tests_b = tests_a + float(cfg.test_interval) / 2
    for _label, b1, b2, d_ap, n2 in roles:
        s2_times = []
        if b1 == "spike":
            s2_times += list(blocks["block1"])
        if b2 == "paired":
            s2_times += list(blocks["block2"][:n2])
        ap = [] if b2 not in ("paired", "apical") else list(blocks["block2"][:n2] + delay_s + d_ap)
        for k in range(cfg.n_s2):
            times = list(s2_times) + (list(tests_a) if k < cfg.n_s1 else [])
            fibers.append(np.sort(np.asarray(times)))
        for _ in range(cfg.n_b):
            fibers.append(tests_b.copy())
        apical.append(np.asarray(ap))
    return fibers, apical


def _build(cfg, neuron, rule, device, record_traces, formulation="event", method="rk4_exact", precision="double"):
    """The pairing network on the active device (call activate() first), its inputs and outputs."""
    dt = cfg.dt
    model = two_compartment(neuron, dt=dt, dend_current="I_ap", method=method, precision=precision)
    check_dt(dt, model.params, rule)
    blocks, t_end = block_schedule(cfg)
    roles = _roles(cfg)
    per = cfg.n_s2 + cfg.n_b
    fibers, apical = _inputs(cfg, blocks, roles)
    # silent neurons pad the conditions to a multiple of 4 and the spike tables are padded, so
    # that window and count lists of similar length share one compiled project
    n_neurons = padded_count(len(roles), PAD_NEURONS)
    fibers, apical = _pad_inputs(fibers, apical, n_neurons, per)
    G = build_neuron_group(model, n_neurons, name="pair_neurons", dt=dt, plasticity=rule,
                           extra_equations="dI_ap/dt = -I_ap/tau_apical : amp  # apical synaptic current",
                           namespace={"tau_apical": cfg.tau_apical}, accumulator=formulation == "accumulator",
                           delay_impl=_delay_impl(device, formulation))
    pre = scheduled_spikes(fibers, name="pair_fibers", dt=dt, n_rows=padded_rows(max(map(len, fibers)) + 1))
    post_idx = np.repeat(np.arange(n_neurons), per)
    syn = clopath_synapses(pre, G, rule, name="pair_basal", dt=dt, voltage=model.voltage,
                           input_gate=model.input_gate, psp_scale=cfg.psp, w0=cfg.w0,
                           delay=cfg.syn_delay, connect=(np.arange(len(fibers)), post_idx),
                           formulation=formulation)
    ap_group = scheduled_spikes([a if a.size else [] for a in apical], name="pair_apical", dt=dt,
                                n_rows=padded_rows(max(map(len, apical)) + 1))
    # the apical amplitude is a shared constant so that sweeps can change it without recompiling
    ap_syn = Synapses(ap_group, G, "apical_amp : amp (shared, constant)  # apical current per input",
                      on_pre="I_ap_post += apical_amp", name="pair_apical_syn", clock=shared_clock(dt))
    ap_syn.connect(j="i")
    ap_syn.apical_amp = cfg.apical_amp
    spikes = SpikeMonitor(G, name="pair_spikes")
    vmon = StateMonitor(G, "v_s", record=True, clock=stable_clock(1 * ms, "pair_vs_clock"), name="pair_vs")
    s1_idx = np.arange(cfg.n_s1)
    wmon = StateMonitor(syn.synapses, "w", record=s1_idx, clock=stable_clock(100 * ms, "pair_w_clock"),
                        name="pair_w")
    objs = [G, pre, *syn.objects, ap_group, ap_syn, spikes, vmon, wmon]
    outputs = {"vs_t": vmon.variables["t"], "vs": vmon.variables["v_s"], "spike_i": spikes.variables["i"],
               "spike_t": spikes.variables["t"], "w_t": wmon.variables["t"], "w": wmon.variables["w"],
               **syn.final_outputs()}
    if record_traces:
        trace_mon = StateMonitor(G, ["v_s", "v_d"], record=[0], clock=stable_clock(0.2 * ms, "pair_trace_clock"),
                                 name="pair_trace")
        objs.append(trace_mon)
        outputs.update(trace_t=trace_mon.variables["t"], trace_v_s=trace_mon.variables["v_s"],
                       trace_v_d=trace_mon.variables["v_d"])
    table = ap_group.namespace["spike_table"]
    inputs = {"apical_table": table, "apical_t_next": ap_group.t_next, "apical_amp": ap_syn.apical_amp}
    state = {"blocks": blocks, "roles": roles, "n_neurons": n_neurons, "n_rows": table.values.shape[0],
             "projection": syn, "record_traces": record_traces}
    return Built(Network(*objs, name="pair_network"), t_end * second, inputs, outputs, state)


#: the pairing network's neurons are padded to a multiple of this (silent neurons)
PAD_NEURONS = 4


def _pad_inputs(fibers, apical, n_neurons, per):
    """Fibers and apical inputs of ``n_neurons`` neurons: silent ones appended."""
    extra = n_neurons - len(apical)
    return fibers + [np.zeros(0)] * (extra * per), apical + [np.zeros(0)] * extra


def _delay_impl(device, formulation):
    """The eps-delay implementation: the accumulator's ring buffer has C++/NumPy code only."""
    return "register" if device == "cuda" or formulation != "accumulator" else "ring"


def run_pairing(config: PairingConfig | None = None, *, neuron: TwoCompartmentParams | str = "naud2018",
                rule: ClopathParams | str = "visual", device: str = "cpp", record_traces=True,
                report=None, formulation: str = "event", method: str = "rk4_exact", precision: str = "double",
                threads: int = 1) -> PairingResult:
    """Run the Grewe-lab pairing experiment: every condition side by side in one network, one run.

    A spike alone (block 1) leaves the basal pathway unchanged; the same spike paired with apical
    input (block 2) becomes a burst and potentiates it; apical input alone and the unstimulated
    pathway B do not change (timeline in the module docstring).

    Parameters
    ----------
    config : PairingConfig, optional
        The protocol (defaults: 8 pairings at 0.1 Hz, dt 0.1 ms, the coincidence window and the
        pairing-count sweep run alongside).
    neuron : TwoCompartmentParams or str
        The two-compartment neuron, or a preset name ('naud2018').
    rule : ClopathParams or str
        The Clopath rule of the basal synapses, or a preset name ('visual', 'somatosensory',
        'hippocampal', 'nest').
    device : {'cpp', 'runtime', 'cuda'}
        Brian2 device; 'cpp' compiles once per model into a cached project (about 20 s the first
        time, then the run takes about 25 s on one core).
    record_traces : bool
        Record the soma and dendrite voltages of the main neuron (for the figure).
    report : None or 'stderr'
        Log the stages (generating, compiling, simulating) of a long run.
    formulation : {'event', 'naive', 'accumulator'}
        Form of the Clopath rule; the three give the same weights to 1e-9 (tests).
    method, precision : str
        Integration method and precision of the neuron (:func:`cortex_sim.models.two_compartment`).
    threads : int
        OpenMP threads of the C++ device (the result does not depend on it).

    Returns
    -------
    PairingResult
        ``conditions[name]["epsp_ratio"]`` (test EPSP after / before the block, dimensionless) and
        ``["spikes_per_trial"]`` for 'spike_alone', 'paired', 'apical_alone'; 'unpaired_pathway';
        ``window`` (ratio per apical delay in ms) and ``counts`` (ratio per number of pairings);
        ``baseline_epsp_mV``; voltage traces; ``final_weights``. ``to_dict()`` is the CLI's JSON.

    Raises
    ------
    ParameterError
        A parameter outside its allowed range (the message names it).
    RunInterrupted
        Ctrl-C or SIGTERM during the compile or the run (nothing is analysed).

    Examples
    --------
    >>> from cortex_sim import PairingConfig, run_pairing
    >>> res = run_pairing(PairingConfig(window_delays=(), pairing_counts=()))   # doctest: +SKIP
    >>> round(res.conditions["spike_alone"]["epsp_ratio"], 2), round(res.conditions["paired"]["epsp_ratio"], 2)  # doctest: +SKIP
    (1.01, 1.25)
    """
    protocol = PairingProtocol(config, neuron=neuron, rule=rule, formulation=formulation, method=method,
                               precision=precision, record_traces=record_traces, device=device)
    res, timings = run(protocol, device=device, threads=threads, report=report, codegen_target="cython")
    res.blocks.update(timings)
    return res


#: parameters that a sweep can vary without changing the compiled project
SWEEPABLE = {"apical_delay": ms, "apical_amp": nA}


class PairingProtocol(Protocol):
    """The pairing experiment as a :class:`~cortex_sim.experiment.Protocol`: compiled once, run again
    with other apical delays and amplitudes (:data:`SWEEPABLE`) through Brian2's ``run_args``.

    Parameters as :func:`run_pairing`; ``device`` selects the eps-delay implementation the build uses.
    """

    name = "pairing"
    sweepable = SWEEPABLE

    def __init__(self, config: PairingConfig | None = None, *, neuron="naud2018", rule="visual",
                 formulation="event", method="rk4_exact", precision="double", record_traces=True, device="cpp"):
        check_choice("formulation", formulation, FORMULATIONS)
        self.config = (config or PairingConfig()).check()
        self.neuron = preset("two_compartment", neuron) if isinstance(neuron, str) else neuron
        self.rule = preset("clopath", rule) if isinstance(rule, str) else rule
        self.formulation, self.method, self.precision = formulation, method, precision
        self.record_traces, self.device = bool(record_traces), device

    def configured(self, values):
        """The configuration with the run-time ``values`` (floats in ms / nA) applied."""
        return self.config.with_(**{n: float(v) * SWEEPABLE[n] for n, v in values.items()}).check()

    def check_values(self, values):
        values = super().check_values(values)
        self.configured(values)
        return values

    def build(self):
        return _build(self.config, self.neuron, self.rule, self.device, self.record_traces, self.formulation,
                      self.method, self.precision)

    def run_args(self, built, values):
        cfg = self.configured(values)
        st = built.state
        fibers, apical = _inputs(cfg, st["blocks"], _roles(cfg))
        _, apical = _pad_inputs(fibers, apical, st["n_neurons"], cfg.n_s2 + cfg.n_b)
        table = spike_table_array([a if a.size else [] for a in apical], cfg.dt, n_rows=st["n_rows"])
        return {"apical_table": table, "apical_t_next": table[0], "apical_amp": float(cfg.apical_amp)}

    def analyse(self, built, raw, values):
        return _analyse(self.configured(values), built, raw)

    def row(self, result):
        return pairing_row(result)


def pairing_row(res):
    """The record of one pairing run: the four EPSP ratios and spikes per paired trial."""
    c = res.conditions
    return {**{f"{n}_epsp_ratio": v["epsp_ratio"] for n, v in c.items()},
            "paired_spikes_per_trial": float(sum(c["paired"]["spikes_per_trial"])
                                             / max(1, len(c["paired"]["spikes_per_trial"])))}


def _analyse(cfg, built: Built, raw: dict) -> PairingResult:
    """Measure EPSPs, spikes per trial and traces from the output arrays of a finished run."""
    st = built.state
    blocks, roles, n = st["blocks"], st["roles"], st["n_neurons"]
    delay_s = float(cfg.syn_delay / second)
    vt = raw["vs_t"]
    vs = monitor_array(raw, "vs", len(vt), n) * 1e3      # mV, (neuron, time)

    def epsp(k, times):
        out = []
        for t0 in times + delay_s:
            base = vs[k, (vt >= t0 - 0.005) & (vt < t0)].mean()
            peak = vs[k, (vt >= t0) & (vt < t0 + 0.02)].max()
            out.append(peak - base)
        return np.asarray(out)

    def ratio(k, times_before, times_after):
        return float(epsp(k, times_after).mean() / epsp(k, times_before).mean())

    spike_i, spike_t = raw["spike_i"], raw["spike_t"]

    def spikes_per_trial(k, times):
        st_k = spike_t[spike_i == k]
        return [int(np.sum((st_k >= t) & (st_k < t + 0.15))) for t in times]

    b1, b2 = blocks["block1"], blocks["block2"]
    conditions = {
        "spike_alone": {"epsp_ratio": ratio(0, blocks["test0"], blocks["test1"]),
                        "spikes_per_trial": spikes_per_trial(0, b1)},
        "paired": {"epsp_ratio": ratio(0, blocks["test1"], blocks["test2"]),
                   "spikes_per_trial": spikes_per_trial(0, b2[:cfg.n_pairings])},
        "apical_alone": {"epsp_ratio": ratio(1, blocks["test1"], blocks["test2"]),
                         "spikes_per_trial": spikes_per_trial(1, b2[:cfg.n_pairings])},
        "unpaired_pathway": {"epsp_ratio": ratio(0, blocks["test0"] + float(cfg.test_interval) / 2,
                                                 blocks["test2"] + float(cfg.test_interval) / 2)},
    }
    window, counts = [], []
    for k, (label, _, _, d_ap, n2) in enumerate(roles):
        if label.startswith("window_"):
            window.append({"apical_delay_ms": d_ap * 1000.0,
                           "epsp_ratio": ratio(k, blocks["test1"], blocks["test2"]),
                           "spikes_per_trial": spikes_per_trial(k, b2[:n2])})
        elif label.startswith("count_"):
            counts.append({"n_pairings": n2, "epsp_ratio": ratio(k, blocks["test1"], blocks["test2"])})
    traces = {}
    if st["record_traces"]:
        tt = raw["trace_t"] * 1e3
        for name, t0 in (("single_spike_trial", b1[0]), ("burst_trial", b2[0])):
            sel = (tt >= t0 * 1000 - 20) & (tt < t0 * 1000 + 150)
            traces[name] = {"t_ms": tt[sel] - t0 * 1000, "v_s_mV": monitor_array(raw, "trace_v_s", len(tt), 1)[0, sel] * 1e3,
                            "v_d_mV": monitor_array(raw, "trace_v_d", len(tt), 1)[0, sel] * 1e3}
    all_tests = np.concatenate([blocks["test0"], blocks["test1"], blocks["test2"]])
    return PairingResult(cfg, float(epsp(0, blocks["test0"]).mean()), conditions, window, counts,
                         epsp(0, all_tests), all_tests, raw["w_t"],
                         monitor_array(raw, "w", len(raw["w_t"]), cfg.n_s1).mean(axis=0),
                         traces, {k: v.tolist() for k, v in blocks.items()},
                         st["projection"].weights_from(raw, float(built.duration))[:len(roles) * (cfg.n_s2 + cfg.n_b)])
