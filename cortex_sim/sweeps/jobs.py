"""The sweepable jobs: pairing, frequency, window, bench, learn.

Each point function runs in a worker process. The pairing job is a protocol job
(:func:`~cortex_sim.sweeps.engine.protocol_job`): each worker keeps the compiled pairing
experiment between points (one project per host, compiled by the first worker that needs it under
the project's file lock) and re-runs the binary with Brian2's ``run_args`` in a run folder of its
own; the frequency and window jobs regenerate their spike tables per point and run them in a
private run folder too (the lock covers generation and compile only).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import ParameterError, check_choice
from .engine import JOBS, Job, Param, protocol_job


def _unknown(options, allowed, job):
    for k in options:
        check_choice(f"option of {job}", k, sorted(allowed))


def _preset_json(kind, value):
    from ..params import preset

    obj = preset(kind, value) if isinstance(value, str) else value
    return obj, obj.to_dict()


# -- pairing ---------------------------------------------------------------------------------------

PAIRING_DEFAULTS = {"config": None, "neuron": "naud2018", "rule": "visual", "formulation": "event",
                    "trial_interval_s": None, "dt_ms": None}


def _pairing_protocol(options):
    """The pairing protocol of a sweep's options (None: the defaults)."""
    from brian2 import ms, second

    from ..errors import check_number
    from ..protocols.pairing import PairingConfig, PairingProtocol

    options = options or {}
    _unknown(options, PAIRING_DEFAULTS, "pairing")
    o = {**PAIRING_DEFAULTS, **options}
    cfg = o["config"] or PairingConfig(window_delays=(), pairing_counts=())
    if not isinstance(cfg, PairingConfig):
        raise ParameterError(f"config: got {type(cfg).__name__}; allowed: a PairingConfig")
    if o["trial_interval_s"] is not None:
        ti = check_number("trial_interval_s", o["trial_interval_s"], low=0, low_open=True, high=3600)
        cfg = cfg.with_(trial_interval=ti * second, test_interval=ti / 2 * second)
    if o["dt_ms"] is not None:
        cfg = cfg.with_(dt=check_number("dt_ms", o["dt_ms"], low=0, low_open=True, high=10) * ms)
    return PairingProtocol(cfg, neuron=o["neuron"], rule=o["rule"], formulation=o["formulation"],
                           record_traces=False, device="cpp")


JOBS["pairing"] = protocol_job(
    "pairing", _pairing_protocol, (Param("apical_delay", "ms", help="apical onset after the s2 volley"),
                                   Param("apical_amp", "nA", help="apical pulse amplitude")),
    plot="paired_epsp_ratio", help="the Grewe pairing experiment, compiled once per host, re-run with run_args")


# -- BAC firing: a protocol job in one statement ----------------------------------------------------

def _bac_protocol(options):
    from ..protocols.bac import BACProtocol

    _unknown(options or {}, {}, "bac")
    return BACProtocol()


JOBS["bac"] = protocol_job("bac", _bac_protocol, plot="paired_n_spikes",
                           help="BAC firing of the two-compartment neuron, apical pulse swept")


# -- frequency and window -------------------------------------------------------------------------

PAIRS_DEFAULTS = {"schedule": "sjostrom", "neuron": None, "rule": "visual", "n_groups": None, "dt_ms": 0.1,
                  "formulation": "event"}


def _pairs_prepare(job, extra):
    def prepare(options):
        from ..plasticity.clopath import FORMULATIONS
        from ..protocols.frequency import SCHEDULES

        defaults = {**PAIRS_DEFAULTS, **extra}
        _unknown(options, defaults, job)
        o = {**defaults, **options}
        check_choice("schedule", o["schedule"], SCHEDULES)
        check_choice("formulation", o["formulation"], FORMULATIONS)
        if o["neuron"] is None:
            o["neuron"] = "clopath2010-code" if o["schedule"] == "authors" else "clopath2010"
        neuron, neuron_json = _preset_json("adex", o["neuron"])
        rule, rule_json = _preset_json("clopath", o["rule"])
        from ..errors import check_int, check_number

        if o["n_groups"] is not None:
            o["n_groups"] = check_int("n_groups", o["n_groups"], low=1)
        o["dt_ms"] = check_number("dt_ms", o["dt_ms"], low=0, low_open=True, high=10)
        if "rate_hz" in o:
            o["rate_hz"] = check_number("rate_hz", o["rate_hz"], low=0, low_open=True)
        fields = {**{k: v for k, v in o.items() if k not in ("neuron", "rule")}, "neuron": neuron_json,
                  "rule": rule_json}
        return {**o, "neuron": neuron, "rule": rule}, fields
    return prepare


def _check_pair(point, options):
    rate = point.get("rate_hz", options.get("rate_hz"))
    dtm = point["delta_t_ms"]
    if rate <= 0:
        raise ParameterError(f"rate_hz: got {rate}; allowed: > 0")
    if abs(dtm) * 1e-3 > 0.5 / rate + 1e-12:
        raise ParameterError(f"delta_t_ms: got {dtm} at {rate} Hz; allowed: |delta t| <= half the pairing period "
                             f"({500.0 / rate} ms)")


def _pairs_point(point, options, workdir):
    from brian2 import ms

    from ..protocols.frequency import run_spike_pairs

    rate = point.get("rate_hz", options.get("rate_hz"))
    res = run_spike_pairs([(rate, point["delta_t_ms"])], n_groups=options["n_groups"], schedule=options["schedule"],
                          neuron=options["neuron"], rule=options["rule"], dt=options["dt_ms"] * ms, device="cpp",
                          formulation=options["formulation"])
    row = res.rows[0]
    return {"w_ratio": row["w_ratio"], "measured_delta_t_ms": row["measured_delta_t_ms"],
            "post_spikes": row["post_spikes"], "run_s": float(res.run_s)}


JOBS["frequency"] = Job(
    "frequency", (Param("rate_hz", "Hz", help="pairing rate"), Param("delta_t_ms", "ms", help="t_post - t_pre")),
    _pairs_prepare("frequency", {}), _pairs_point, plot="w_ratio", check_point=_check_pair,
    help="Sjöström's frequency dependence, one condition per point")
JOBS["window"] = Job(
    "window", (Param("delta_t_ms", "ms", help="t_post - t_pre"),),
    _pairs_prepare("window", {"rate_hz": 20.0, "n_groups": 15}), _pairs_point, plot="w_ratio",
    check_point=_check_pair, help="the STDP window at one pairing rate")


# -- bench ------------------------------------------------------------------------------------------

BENCH_DEFAULTS = {"neurons": 1000, "inputs": 200, "rate_hz": 10.0, "duration_s": 1.0, "formulation": "accumulator",
                  "dt_ms": 0.1, "drive_pA": 500.0, "threads": 1, "method": "rk4_exact", "precision": "double"}


def _bench_prepare(options):
    from ..bench import bench_clopath  # noqa: F401  (validated there, per point, before building)

    _unknown(options, BENCH_DEFAULTS, "bench")
    o = {**BENCH_DEFAULTS, **options}
    return o, dict(o)


def _bench_point(point, options, workdir):
    from ..bench import bench_clopath

    o = {**options, **point}
    out = bench_clopath(neurons=int(o["neurons"]), inputs=int(o["inputs"]), rate_hz=o["rate_hz"],
                        duration_s=o["duration_s"], threads=int(o["threads"]), drive_pA=o["drive_pA"],
                        formulation=o["formulation"], dt_ms=o["dt_ms"], device="cpp", method=o["method"],
                        precision=o["precision"])
    return {k: out[k] for k in ("run_s", "compile_s", "post_rate_hz", "mean_weight", "peak_rss_mb")}


def _bench_check(point, options):
    from ..devices import check_memory

    n, k = int(point.get("neurons", options["neurons"])), int(point.get("inputs", options["inputs"]))
    if n < 1 or k < 1:
        raise ParameterError(f"neurons x inputs: got {n} x {k}; allowed: whole numbers >= 1")
    check_memory("neurons x inputs", f"{n} x {k}", n * k, n)


JOBS["bench"] = Job(
    "bench", (Param("neurons", "", int), Param("inputs", "", int), Param("rate_hz", "Hz"),
              Param("duration_s", "s")),
    _bench_prepare, _bench_point, plot="run_s", check_point=_bench_check,
    help="the Clopath benchmark (points on one host run at the same time: timings share the cores)")


# -- learn ------------------------------------------------------------------------------------------

LEARN_DEFAULTS = {"dataset": "digits", "epochs": None, "max_train_images": None, "preset": None, "backend": "numpy"}


def _learn_prepare(options):
    from ..learning.data import DATASETS

    _unknown(options, LEARN_DEFAULTS, "learn")
    o = {**LEARN_DEFAULTS, **options}
    check_choice("dataset", o["dataset"], DATASETS)
    check_choice("backend", o["backend"], ("numpy", "cupy"))
    if o["dataset"] == "stl10":
        raise ParameterError("dataset: got 'stl10' for a sweep; allowed: digits or mnist5k (STL-10 needs its "
                             "local folder on every worker: run cortex-sim learn there)")
    return o, dict(o)


def _learn_point(point, options, workdir):
    import tempfile

    from ..learning.study import run_study

    out = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="cortex_sim_learn_"))
    res = run_study(point["rule"], options["dataset"], [int(point["seed"])], options["epochs"], out,
                    preset=options["preset"], resume=True, progress=False, max_train_images=options["max_train_images"],
                    references=False, backend=options.get("backend", "numpy"))
    entry = res.results[0]
    acc = [layer["accuracy_mean"] for layer in entry["layers"]]
    row = {f"accuracy_layer{k}": a for k, a in enumerate(acc)}
    row.update(best_accuracy=max(acc[1:]) if len(acc) > 1 else acc[0], train_s=entry["train_s"])
    if workdir is None:
        shutil.rmtree(out, ignore_errors=True)
    return row


def _rule_names():
    from ..learning.results import ALL_RULES

    return tuple(ALL_RULES)


JOBS["learn"] = Job(
    "learn", (Param("rule", "", str, allowed=_rule_names()), Param("seed", "", int)),
    _learn_prepare, _learn_point, plot="best_accuracy",
    help="representation learning, one rule and seed per point (layer-wise readouts)")
