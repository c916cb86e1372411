"""Spike-pair protocols on the AdEx-Clopath neuron: Sjöström's frequency dependence and the STDP window.

Sjöström, Turrigiano & Nelson (2001) Neuron 32:1149 (Clopath 2010 Fig. 2b): groups of 5
pre/post pairings at a pairing rate f, 15 groups with 10 s between the end of a group and the start
of the next, delta t = t_post - t_pre = +10 ms (pre then post) or -10 ms; postsynaptic spikes are
forced by a brief strong current; w0 = 0.5. The measured relative change w/w0 (mean +- s.e.m.)
is in :data:`SJOSTROM_2001`.

Every condition is one neuron with its own plastic synapse; all conditions run side by side in
one network and one run. The presynaptic spike is given a negligible PSP (``psp``), so that the
postsynaptic spike timing is set by the current pulse, as in the experiment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import Network, SpikeMonitor, StateMonitor, Synapses, mV, ms, nA, second

from ..devices import activate, run_network, shared_clock, stable_clock
from ..errors import ParameterError, check_choice, check_int, check_number, check_quantity
from ..experiment import Built, Protocol, monitor_array, run
from ..inputs import padded_count, padded_rows, scheduled_spikes
from ..models import adex_clopath, build_neuron_group
from ..params import AdExParams, ClopathParams, check_dt, preset
from ..plasticity.clopath import FORMULATIONS, clopath_synapses

__all__ = ["run_spike_pairs", "run_frequency", "run_window", "PairsResult", "SpikePairsProtocol", "pairing_times",
           "rms_vs_data"]

#: (rate Hz, delta t ms) -> (mean w/w0 - 1, s.e.m.), Sjöström, Turrigiano & Nelson 2001 (Neuron 32:1149), as digitised by Clopath et al. 2010
SJOSTROM_2001 = {
    (0.1, 10.0): (-0.04, 0.05), (10.0, 10.0): (0.14, 0.10), (20.0, 10.0): (0.29, 0.14),
    (40.0, 10.0): (0.53, 0.11), (50.0, 10.0): (0.56, 0.26),
    (0.1, -10.0): (-0.29, 0.08), (10.0, -10.0): (-0.41, 0.11), (20.0, -10.0): (-0.34, 0.10),
    (40.0, -10.0): (0.56, 0.32), (50.0, -10.0): (0.75, 0.19),
}


@dataclass
class PairsResult:
    rows: list          # [{"rate_hz", "delta_t_ms", "w_ratio", "measured_delta_t_ms"}]
    run_s: float
    w_t_s: np.ndarray | None = None      # sample times of the weight trace (1 ms)
    w_trace: np.ndarray | None = None    # (n_conditions, n_samples) weights
    group_ends_s: list | None = None     # per condition, the end time of each group
    spike_times_s: list | None = None    # per condition, the postsynaptic spike times
    schedule: str = "sjostrom"

    def to_dict(self):
        return {"schedule": self.schedule,
                "rows": [{k: r[k] for k in ("rate_hz", "delta_t_ms", "w_ratio")} for r in self.rows]}


#: pairing schedules: 'sjostrom' is the published protocol (Sjöström et al. 2001: groups of 5
#: pairings, 15 groups, 10 s from the end of a group to the start of the next); 'authors' is the
#: schedule of Clopath's ModelDB 144566 code (VoTri.m): 15 groups, 10 at 0.1 Hz, each group padded
#: to 10 s from its start (at 0.1 Hz a group lasts 50 s and is not padded), and in post-pre groups
#: a sixth postsynaptic spike one pairing period after the fifth -- an indexing quirk of the code
#: (the post train runs one index further than the pre train), not part of the experiment.
SCHEDULES = ("sjostrom", "authors")


def pairing_times(rate, delta_t_ms, *, schedule="sjostrom", n_groups=None, pairs_per_group=5,
                  group_gap=10.0, start=0.5):
    """Pre and post spike times (s) and group end times of one pairing condition.

    Parameters
    ----------
    rate : float
        Pairing rate (Hz).
    delta_t_ms : float
        t_post - t_pre (ms).
    schedule : {'sjostrom', 'authors'}
        See :data:`SCHEDULES`.
    n_groups : int or None
        Groups of pairings; None: 15 ('authors': 10 at 0.1 Hz, as the authors' code).
    group_gap : float
        'sjostrom': seconds from the end of a group to the start of the next. 'authors': a group
        starts every ``group_gap`` s (or right after the previous one if that is longer).

    Returns
    -------
    t_pre, t_post, group_ends : ndarray (s)

    Examples
    --------
    >>> t_pre, t_post, ends = pairing_times(20, 10, n_groups=1)    # 5 pairs at 20 Hz, post 10 ms late
    >>> t_pre, t_post, ends
    (array([0.5 , 0.55, 0.6 , 0.65, 0.7 ]), array([0.51, 0.56, 0.61, 0.66, 0.71]), array([0.75]))
    """
    check_choice("schedule", schedule, SCHEDULES)
    if n_groups is None:
        n_groups = 10 if (schedule == "authors" and rate == 0.1) else 15
    period = 1.0 / rate
    shift = max(0.0, -delta_t_ms) * 1e-3           # the earlier spike of a pair is at the pair time
    k = np.arange(pairs_per_group)
    if schedule == "sjostrom":
        group_len = pairs_per_group * period
        starts = start + np.arange(n_groups) * (group_len + group_gap)
        n_post = pairs_per_group
    else:
        # VoTri.m at dt = 1 ms: a group is n f + |dt| + 1 steps long, padded to 10 s
        group_len = pairs_per_group * period + abs(delta_t_ms) * 1e-3 + 1e-3
        starts = start + np.arange(n_groups) * max(group_gap, group_len)
        n_post = pairs_per_group + (1 if delta_t_ms < 0 else 0)
    t_pre = (starts[:, None] + shift + period * k[None, :]).ravel()
    t_post = (starts[:, None] + shift + delta_t_ms * 1e-3 + period * np.arange(n_post)[None, :]).ravel()
    return t_pre, t_post, starts + group_len


def run_spike_pairs(conditions, *, n_groups=None, pairs_per_group=5, group_gap=10 * second,
                    schedule="sjostrom", neuron: AdExParams | str = "clopath2010",
                    rule: ClopathParams | str = "visual", w0=0.5, psp=0.01 * mV, pulse_amp=15 * nA,
                    pulse_dur=1 * ms, latency=None, dt=0.1 * ms, device="cpp", report=None,
                    record_weights=False, formulation="event", method="rk4_exact",
                    precision="double", threads=1) -> PairsResult:
    """Run pre/post pairing conditions side by side and return w/w0 per condition.

    Parameters
    ----------
    conditions : list of (rate_hz, delta_t_ms)
        Pairing rate and spike timing (post minus pre) of each condition.
    n_groups, pairs_per_group, group_gap, schedule
        The pairing schedule (:func:`pairing_times`).
    latency : Quantity or None
        Delay from pulse onset to the forced spike; measured once by a short simulation if None.
    record_weights : bool
        Also record each weight every 1 ms (for the weight after every group; in the accumulator
        form the recorded weight lags by the LTP pending since the last presynaptic spike).
    formulation : {'event', 'naive', 'accumulator'}
        Form of the Clopath rule (the three agree to 1e-9; tests).
    method, precision : str
        Integration method and precision of the neurons (:func:`cortex_sim.models.adex_clopath`).
    threads : int
        OpenMP threads of the C++ device.

    Postsynaptic spikes are forced by current pulses of ``pulse_amp`` for ``pulse_dur`` that switch
    on and off at step boundaries, so that each pulse delivers its full charge at any dt.
    """
    protocol = SpikePairsProtocol(conditions, n_groups=n_groups, pairs_per_group=pairs_per_group,
                                  group_gap=group_gap, schedule=schedule, neuron=neuron, rule=rule, w0=w0, psp=psp,
                                  pulse_amp=pulse_amp, pulse_dur=pulse_dur, latency=latency, dt=dt,
                                  record_weights=record_weights, formulation=formulation, method=method,
                                  precision=precision, device=device)
    res, timings = run(protocol, device=device, threads=threads, report=report, codegen_target="cython")
    res.run_s = timings["run_s"]
    return res


class SpikePairsProtocol(Protocol):
    """Spike-pair conditions side by side as a :class:`~cortex_sim.experiment.Protocol` (parameters
    as :func:`run_spike_pairs`). The conditions set the network's size and duration, so they are
    part of the protocol, not run-time values: a condition list of similar length reuses the
    compiled code (padded sizes; the spike times are data)."""

    name = "spike_pairs"

    def __init__(self, conditions, *, n_groups=None, pairs_per_group=5, group_gap=10 * second, schedule="sjostrom",
                 neuron: AdExParams | str = "clopath2010", rule: ClopathParams | str = "visual", w0=0.5,
                 psp=0.01 * mV, pulse_amp=15 * nA, pulse_dur=1 * ms, latency=None, dt=0.1 * ms,
                 record_weights=False, formulation="event", method="rk4_exact", precision="double", device="cpp"):
        if len(conditions) == 0:
            raise ParameterError("conditions: got none; allowed: a list of (rate_hz, delta_t_ms)")
        if n_groups is not None:
            check_int("n_groups", n_groups, low=1)
        check_int("pairs_per_group", pairs_per_group, low=1)
        check_quantity("group_gap", group_gap, ms, nonnegative=True)
        check_quantity("pulse_amp", pulse_amp, nA, positive=True)
        check_quantity("pulse_dur", pulse_dur, ms, positive=True)
        check_choice("schedule", schedule, SCHEDULES)
        check_choice("formulation", formulation, FORMULATIONS)
        self.rule = preset("clopath", rule) if isinstance(rule, str) else rule
        self._model = adex_clopath(neuron, dt=dt, current="I_pulse", method=method, precision=precision)
        check_dt(dt, self._model.params, self.rule)
        _check_pulse(pulse_dur, dt)
        conds = []
        for rate, dtm in conditions:
            rate = check_number("rate_hz", rate, low=0, low_open=True)
            dtm = check_number("delta_t_ms", dtm)
            if abs(dtm) * 1e-3 > 0.5 / rate + 1e-12:
                raise ParameterError(
                    f"delta_t_ms: got {dtm} at {rate} Hz; allowed: |delta t| <= half the pairing period "
                    f"({500.0 / rate} ms)")
            conds.append((rate, dtm))
        if latency is None:
            latency = measure_latency(neuron, pulse_amp, pulse_dur, dt, method=method, precision=precision)
        self.conditions, self.neuron, self.latency = conds, neuron, latency
        self.n_groups, self.pairs_per_group, self.group_gap, self.schedule = n_groups, pairs_per_group, group_gap, schedule
        self.w0, self.psp, self.pulse_amp, self.pulse_dur, self.dt = w0, psp, pulse_amp, pulse_dur, dt
        self.record_weights, self.formulation, self.device = bool(record_weights), formulation, device
        self.method, self.precision = method, precision

    def build(self):
        lat, dt, conds = float(self.latency), self.dt, self.conditions
        pre_times, pulse_times, post_times, t_end, group_ends = [], [], [], 0.0, []
        for rate, dtm in conds:
            t_pre, t_post, ends = pairing_times(rate, dtm, schedule=self.schedule, n_groups=self.n_groups,
                                                pairs_per_group=self.pairs_per_group, group_gap=float(self.group_gap))
            pre_times.append(t_pre)
            post_times.append(t_post)
            pulse_times.append(t_post - lat)
            group_ends.append(ends)
            t_end = max(t_end, float(t_post.max()) + 1.0)
        n = len(conds)
        # padded with silent conditions and a padded spike table: condition lists of similar length
        # share one compiled project (sizes and table shapes are compiled in, spike times are data)
        n_pad = padded_count(n)
        silent = [np.zeros(0)] * (n_pad - n)
        rows = padded_rows(max(max(len(t) for t in pre_times), max(len(t) for t in pulse_times)) + 1)
        G, drv, kick = _forced_neurons(self._model, pulse_times + silent, dt, self.pulse_amp, self.pulse_dur,
                                       plasticity=self.rule, accumulator=self.formulation == "accumulator",
                                       delay_impl="register" if self.device == "cuda" else None, n_rows=rows)
        pre = scheduled_spikes(pre_times + silent, name="sp_pre", dt=dt, n_rows=rows)
        syn = clopath_synapses(pre, G, self.rule, name="sp_syn", dt=dt, voltage=self._model.voltage,
                               input_gate=self._model.input_gate, psp_scale=self.psp, w0=self.w0,
                               connect=(np.arange(n_pad), np.arange(n_pad)), formulation=self.formulation)
        spikes = SpikeMonitor(G, name="sp_spikes")
        objs = [G, pre, *syn.objects, drv, kick, spikes]
        outputs = {"spike_i": spikes.variables["i"], "spike_t": spikes.variables["t"], **syn.final_outputs()}
        if self.record_weights:
            wmon = StateMonitor(syn.synapses, "w", record=True, clock=stable_clock(1 * ms, "sp_w_clock"), name="sp_w")
            objs.append(wmon)
            outputs.update(w_t=wmon.variables["t"], w_trace=wmon.variables["w"])
        state = {"pre_times": pre_times, "post_times": post_times, "group_ends": group_ends, "n_pad": n_pad,
                 "projection": syn}
        return Built(Network(*objs, name="sp_network"), t_end * second, outputs=outputs, state=state)

    def analyse(self, built, raw, values):
        st_all, n = built.state, len(self.conditions)
        pre_times = st_all["pre_times"]
        w = st_all["projection"].weights_from(raw, float(built.duration))[:n]
        trains = [np.sort(raw["spike_t"][raw["spike_i"] == k]) for k in range(n)]
        rows = []
        for k, (rate, dtm) in enumerate(self.conditions):
            st = trains[k]
            measured = np.nan
            if st.size:
                idx = np.searchsorted(st, pre_times[k] + dtm * 1e-3 - 0.002)
                idx = idx.clip(0, st.size - 1)
                measured = float(np.median(st[idx] - pre_times[k]) * 1e3)
            rows.append({"rate_hz": rate, "delta_t_ms": dtm, "w_ratio": float(w[k] / self.w0),
                         "measured_delta_t_ms": measured, "post_spikes": int(st.size),
                         "pairings": len(pre_times[k]), "forced_spikes": len(st_all["post_times"][k])})
        res = PairsResult(rows, float("nan"), group_ends_s=st_all["group_ends"], spike_times_s=trains,
                          schedule=self.schedule)
        if self.record_weights:
            t = raw["w_t"]
            res.w_t_s = t
            res.w_trace = monitor_array(raw, "w_trace", len(t), st_all["n_pad"])[:n]
        return res


def _check_pulse(pulse_dur, dt):
    n = float(pulse_dur / dt)
    if abs(n - round(n)) > 1e-6 or round(n) < 1:
        raise ParameterError(f"pulse_dur: got {pulse_dur!s} at dt = {dt!s}; allowed: a whole number (>= 1) of "
                             "time steps (the pulse switches at step boundaries)")


def _forced_neurons(model, pulse_times, dt, pulse_amp, pulse_dur, plasticity=None, accumulator=False,
                    delay_impl=None, n_rows=None):
    """Neurons driven by current pulses starting at ``pulse_times`` (one list per neuron).

    Step-exact: a pulse switched on at step n (by the drive spike) is seen by the integrations of
    steps n+1 .. n+d (d = pulse_dur/dt) and switched off at the end of step n+d, so the RK4
    sub-steps never see it switch: every pulse delivers pulse_amp * pulse_dur at any dt.
    """
    G = build_neuron_group(model, len(pulse_times), name="sp_neurons", dt=dt, plasticity=plasticity,
                           accumulator=accumulator, delay_impl=delay_impl,
                           extra_equations="I_pulse : amp  # forcing pulse (on for a whole number of steps)\n"
                                           "t_pulse_end : second  # end of the current pulse")
    G.t_pulse_end = 0 * second
    G.run_regularly("I_pulse = I_pulse*int(t < t_pulse_end - 0.5*dt)", when="end", order=50,
                    name="sp_pulse_off")
    drv = scheduled_spikes(pulse_times, name="sp_drive", dt=dt, n_rows=n_rows)
    kick = Synapses(drv, G, on_pre="I_pulse_post = pulse_amp\nt_pulse_end_post = t + pulse_dur",
                    namespace={"pulse_amp": pulse_amp, "pulse_dur": pulse_dur}, name="sp_kick",
                    clock=shared_clock(dt))
    kick.connect(j="i")
    return G, drv, kick


def measure_latency(neuron, pulse_amp, pulse_dur, dt, method="rk4_exact", precision="double"):
    """Onset-to-spike latency (Quantity) of the forcing pulse, from a 50 ms runtime simulation
    of the same pulse mechanism."""
    _check_pulse(pulse_dur, dt)
    activate("runtime", codegen_target="numpy")
    model = adex_clopath(neuron, dt=dt, current="I_pulse", method=method, precision=precision)
    G, drv, kick = _forced_neurons(model, [[0.01]], dt, pulse_amp, pulse_dur)
    sm = SpikeMonitor(G, name="lat_spikes")
    run_network(Network(G, drv, kick, sm, name="lat_net"), 50 * ms, device="runtime")
    if sm.num_spikes != 1:
        raise ParameterError(
            f"pulse_amp: got {pulse_amp!s} for {pulse_dur!s}, which gives {sm.num_spikes} spikes; "
            "allowed: a pulse that forces exactly one spike")
    return sm.t[0] - 10 * ms


def rms_vs_data(rows):
    """RMS difference between simulated w/w0 - 1 and Sjöström 2001 over the matching conditions."""
    d = [(r["w_ratio"] - 1.0 - SJOSTROM_2001[(r["rate_hz"], r["delta_t_ms"])][0]) for r in rows
         if (r["rate_hz"], r["delta_t_ms"]) in SJOSTROM_2001]
    return float(np.sqrt(np.mean(np.square(d)))) if d else float("nan")


def run_frequency(rates=(0.1, 10, 20, 40, 50), delta_ts=(10.0, -10.0), **kwargs) -> PairsResult:
    """Sjöström et al. 2001: weight change after pre-post pairings vs pairing rate.

    Parameters
    ----------
    rates : sequence of float
        Pairing rates (Hz), each in (0, 1000].
    delta_ts : sequence of float
        t_post - t_pre (ms): +10 is pre-post, -10 post-pre.
    **kwargs
        Passed to :func:`run_spike_pairs`: ``schedule`` ('sjostrom' or 'authors'), ``neuron``
        (AdEx preset), ``rule`` (Clopath preset), ``n_groups``, ``dt``, ``device``,
        ``formulation``, ``report``.

    Returns
    -------
    PairsResult
        ``rows``: one dict per (rate, delta t) with ``w_ratio`` = w / w0 at the end;
        :func:`rms_vs_data` compares them with the published values (SJOSTROM_2001).

    Examples
    --------
    >>> from cortex_sim import run_frequency
    >>> res = run_frequency(rates=(20, 50), delta_ts=(10,))   # doctest: +SKIP
    >>> [round(r["w_ratio"], 2) for r in res.rows]      # both potentiate, more at 50 Hz  # doctest: +SKIP
    """
    return run_spike_pairs([(float(r), float(d)) for d in delta_ts for r in rates], **kwargs)


def run_window(delta_ts=tuple(range(-15, 16, 1)), rate=20.0, **kwargs) -> PairsResult:
    """The STDP window: weight change vs spike timing at a fixed pairing rate.

    Parameters
    ----------
    delta_ts : sequence of float
        t_post - t_pre (ms) of each condition.
    rate : float
        Pairing rate (Hz); groups of 5 pairings as in Sjöström's protocol.
    **kwargs
        Passed to :func:`run_spike_pairs` (see :func:`run_frequency`).

    Returns
    -------
    PairsResult
        ``rows`` with ``delta_t_ms`` and ``w_ratio`` per condition.
    """
    return run_spike_pairs([(float(rate), float(d)) for d in delta_ts], **kwargs)
