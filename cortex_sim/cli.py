"""The ``cortex-sim`` command. Every command has ``--json``; bad input: one line on stderr, exit 2.

Conventions: outputs go to ``cortex_sim_out/<command>/`` unless ``--out`` says otherwise, and the
folder is checked before any work; JSON goes to stdout before any figure is written and carries
``"cortex_sim": {"version", "command", "parameters"}``; progress goes to stderr through the
``cortex_sim`` logger (``-q`` quiet, ``-v`` verbose); Ctrl-C or SIGTERM prints one line and exits
130, and nothing of an interrupted run is analysed or written. Accuracies are percent in tables and
fractions in JSON files (``accuracy_mean`` 0.924 = 92.4 %); weights are ratios ``w/w0``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys

from . import __version__
from ._choices import METHODS, PRECISIONS
from .errors import CortexSimError, JobFailedError, check_choice, check_int

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)   # no silent prefix matching (--delta-t is not --delta-ts)
        super().__init__(*args, **kwargs)

    def error(self, message):  # one line, exit 2; a bare command prints its help (the commands it has)
        if message.startswith("the following arguments are required: group") or \
                message.startswith("the following arguments are required: command"):
            sys.stderr.write(self.format_help())
            sys.exit(2)
        sys.stderr.write(f"cortex-sim: error: {message} (see '{self.prog} --help')\n")
        sys.exit(2)


def _option_strings(parser, values_only=False):
    """Every option string of the parser and its subcommands (``values_only``: those that take a value)."""
    opts = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                opts |= _option_strings(sub, values_only)
        elif not values_only or action.nargs != 0:
            opts |= set(action.option_strings)
    return opts


def _did_you_mean(tokens, options):
    import difflib

    hints = []
    for tok in tokens:
        name = tok.split("=", 1)[0]
        if name.startswith("--"):
            close = difflib.get_close_matches(name, sorted(options), n=1, cutoff=0.6)
            if close:
                hints.append(f"{name}: did you mean {close[0]}?")
    return ("; " + "; ".join(hints)) if hints else ""


def _ms(x):
    from brian2 import ms

    return float(x) * ms


OUT_ROOT = "cortex_sim_out"


def _out(p, command, help="folder for figures and results (checked before any work)"):
    p.add_argument("--out", "--figures", dest="out", default=os.path.join(OUT_ROOT, command), metavar="DIR",
                   help=help)


def _common(p, command, device="runtime"):
    """--json, --out, --no-figure, and (unless device is None) --device with its real default, --dt."""
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    _out(p, command)
    p.add_argument("--no-figure", action="store_true", help="do not write the figure")
    if device:
        p.add_argument("--device", default=device, choices=("runtime", "cpp", "cuda"), help="Brian2 device")
        p.add_argument("--dt", type=float, default=0.1, help="time step (ms)")


def _yes(p):
    p.add_argument("--yes", action="store_true",
                   help="run even when the estimated wall time exceeds an hour (memory limits always hold)")


def _verbosity(p, top=False):
    kw = {} if top else {"default": argparse.SUPPRESS}
    p.add_argument("-v", "--verbose", action="count", help="more progress detail (Brian2 INFO messages too)",
                   **({"default": 0} if top else kw))
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines, warnings only",
                   **({"default": False} if top else kw))


def _speed(p):
    """--method, --precision, --threads: the CPU core's options (benchmarks/RESULTS.md)."""
    p.add_argument("--method", default="rk4_exact", choices=METHODS,
                   help="neuron integrator: rk4_exact (RK4 with the linear equations solved exactly), rk4; "
                        "rk2 and euler are faster and drift from NEST")
    p.add_argument("--precision", default="double", choices=PRECISIONS,
                   help="mixed: the neuron's exponential in single precision (weights within 2e-7 of double)")
    p.add_argument("--threads", type=int, default=1,
                   help="OpenMP threads of the C++ device (same result for any count; pays for large networks)")


def _formulation(p):
    p.add_argument("--formulation", default="event", choices=("event", "naive", "accumulator"),
                   help="form of the Clopath rule (the three agree to 1e-9; accumulator is the fast one)")


class _Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except None and False (flags, defaults explained in the text)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _add(sub, name, help):
    """A subcommand whose --help shows every option's default (and takes -v/-q there too)."""
    p = sub.add_parser(name, help=help, description=help, formatter_class=_Defaults)
    _verbosity(p)
    return p


def build_parser():
    parser = _Parser(prog="cortex-sim", description="Two-compartment neurons, Clopath plasticity and "
                     "broadcast-gated learning on Brian2.")
    parser.add_argument("--version", action="version", version=f"cortex-sim {__version__}")
    _verbosity(parser, top=True)
    sub = parser.add_subparsers(dest="group", required=True, parser_class=_Parser)

    neuron = sub.add_parser("neuron", help="single-neuron demos")
    nsub = neuron.add_subparsers(dest="command", required=True, parser_class=_Parser)
    bac = _add(nsub, "bac", "BAC firing: soma only / apical only / paired")
    _common(bac, "bac")
    bac.add_argument("--apical-delay", type=float, default=0.0, help="apical onset after somatic onset (ms)")
    bac.add_argument("--soma-amp", type=float, default=1.9, help="somatic pulse (nA, 5 ms)")
    bac.add_argument("--apical-amp", type=float, default=1.0, help="apical pulse (nA, 5 ms)")

    pairing = _add(sub, "pairing", "the Grewe pairing experiment (main job)")
    _common(pairing, "pairing", device="cpp")
    _yes(pairing)
    _formulation(pairing)
    _speed(pairing)
    pairing.add_argument("--apical-delay", type=float, default=0.0, help="apical onset after s2 arrival (ms)")
    pairing.add_argument("--n-pairings", type=int, default=8, help="trials per induction block")
    pairing.add_argument("--trial-interval", type=float, default=10.0, help="s between trials (10 s: 0.1 Hz)")
    pairing.add_argument("--window", default="-20,-10,-5,0,5,10,20,40",
                         help="apical delays (ms) of the coincidence-window sweep, comma-separated")
    pairing.add_argument("--counts", default="1,2,4,8,16", help="pairing counts of the sweep, comma-separated")
    pairing.add_argument("--theta-plus", type=float, default=None, help="LTP threshold theta_plus (mV)")

    plast = sub.add_parser("plasticity", help="plasticity protocols")
    psub = plast.add_subparsers(dest="command", required=True, parser_class=_Parser)
    clamp = _add(psub, "clamp", "voltage clamp: dw per presynaptic spike vs clamp voltage")
    _common(clamp, "clamp")
    clamp.add_argument("--params", default="visual", choices=("visual", "somatosensory", "hippocampal", "nest"),
                       help="Clopath rule preset")
    clamp.add_argument("--points", type=int, default=41, help="number of clamp voltages from -80 to 0 mV")
    freq = _add(psub, "frequency", "Sjöström 2001 frequency dependence on the AdEx-Clopath neuron")
    _common(freq, "frequency", device="cpp")
    _yes(freq)
    _formulation(freq)
    _speed(freq)
    freq.add_argument("--rates", default="0.1,10,20,40,50", help="pairing rates (Hz), comma-separated")
    freq.add_argument("--groups", type=int, default=None,
                      help="groups of 5 pairings (default: 15; the authors' schedule: 10 at 0.1 Hz)")
    freq.add_argument("--schedule", default="sjostrom", choices=("sjostrom", "authors"),
                      help="sjostrom: the published protocol; authors: the schedule of Clopath's ModelDB code "
                           "(6 post spikes in post-pre groups, 10 groups at 0.1 Hz, groups every 10 s)")
    freq.add_argument("--neuron", default=None, choices=("clopath2010", "clopath2010-code", "nest"),
                      help="AdEx preset (default: clopath2010; with --schedule authors: clopath2010-code, "
                           "reset -49.5 mV and jumps at the end of the spike as in the authors' code)")
    win = _add(psub, "window", "STDP window: pairs at 20 Hz, delta t from -15 to +15 ms")
    _common(win, "window", device="cpp")
    _yes(win)
    _formulation(win)
    _speed(win)
    win.add_argument("--delta-ts", default=",".join(str(d) for d in range(-15, 16)),
                     help="delta t = t_post - t_pre (ms), comma-separated or start:stop:step, "
                          "e.g. --delta-ts -15:15:5 or --delta-ts -10,-5,5,10")
    win.add_argument("--rate", type=float, default=20.0, help="pairing rate (Hz)")
    win.add_argument("--groups", type=int, default=15, help="groups of 5 pairings")
    figs = _add(sub, "figures", "regenerate the README's figures: simulations rerun (a few minutes), "
                "studies and benchmarks re-plotted from their stored results in results/")
    _out(figs, "figures", help="output folder ('cortex-sim figures --out figures' rewrites the README's)")
    figs.add_argument("--only", default=None, help="comma-separated figure names (default: all)")
    figs.add_argument("--json", action="store_true", help="print the written paths as JSON")

    nb = _add(sub, "notebooks", "list the notebooks, or execute them and store their outputs (--execute)")
    nb.add_argument("--execute", action="store_true",
                    help="run every notebook top to bottom and write it back with its outputs")
    nb.add_argument("--only", default=None, help="comma-separated notebook names (default: all)")
    nb.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    nb.add_argument("--json", action="store_true", help="print the notebooks (and run times) as JSON")

    sw = _add(sub, "sweep", "run a job over a parameter grid on Dask (a local cluster, a scheduler, SLURM/PBS), "
              "one record per point in a resumable store, gathered into an xarray dataset")
    sw.add_argument("job", choices=SWEEP_JOBS, help="the job to sweep")
    sw.add_argument("--param", action="append", default=[], metavar="NAME=V1,V2,...",
                    help="a swept parameter, values comma-separated or start:stop:step (e.g. "
                         "--param apical_delay=-10:10:5); repeat for a grid. pairing: apical_delay [ms], apical_amp [nA]; "
                         "frequency: rate_hz, delta_t_ms; window: delta_t_ms; bench: neurons, inputs, rate_hz, "
                         "duration_s; learn: rule, seed")
    sw.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="a fixed option of the job (pairing: trial_interval_s, dt_ms, formulation, neuron, rule; "
                         "frequency/window: schedule, n_groups, dt_ms, formulation, rate_hz (window); bench: "
                         "duration_s, formulation, dt_ms, ...; learn: dataset, epochs, max_train_images, preset)")
    sw.add_argument("--cluster", default="local", metavar="SPEC",
                    help="local (one single-threaded worker per core), local:N, tcp://HOST:PORT (a running "
                         "scheduler), slurm or pbs (dask-jobqueue), serial (this process, no Dask)")
    sw.add_argument("--cluster-opt", action="append", default=[], metavar="KEY=VALUE",
                    help="slurm/pbs: cores, memory, walltime, queue, account, jobs (batch jobs to submit), ...")
    sw.add_argument("--cluster-config", default=None, metavar="FILE", help="slurm/pbs options as a YAML mapping")
    sw.add_argument("--print-job-script", action="store_true",
                    help="slurm/pbs: print the batch job script and exit without submitting anything")
    sw.add_argument("--out", default=os.path.join(OUT_ROOT, "sweep"), metavar="DIR",
                    help="output folder; the store is DIR/JOB unless --store says otherwise")
    sw.add_argument("--store", default=None, metavar="DIR",
                    help="result store (default: --out/JOB): one record per point as it finishes; "
                         "points already there are skipped")
    sw.add_argument("--force", action="store_true", help="discard the store's records and run every point")
    sw.add_argument("--processes", type=int, default=None, help="same as --cluster local:N")
    sw.add_argument("--trial-interval", type=float, default=None,
                    help="pairing: s between trials (default 10 s; same as --option trial_interval_s=...)")
    sw.add_argument("--dt", type=float, default=0.1, help="time step (ms; pairing, frequency, window, bench)")
    sw.add_argument("--json", action="store_true", help="print {points, ran, skipped, failed, store, dataset} as JSON")
    sw.add_argument("--no-figure", action="store_true", help="do not write the figure")

    learn = _add(sub, "learn", "representation learning with CLAPP and its rivals, layer-wise readouts")
    learn.add_argument("--rule", default="clapp", help="clapp | clapp-s | clapp-fb | dfa | pc | bp | random | all, "
                       "spiking-clapp | spiking-clopath | spiking-random | stdp-wta | spiking-clapp-legacy | spiking, "
                       "or a comma-separated list; diehl-cook (Diehl & Cook 2015, mnist5k, alone)")
    learn.add_argument("--dataset", default="mnist5k", help="mnist5k | digits | stl10")
    learn.add_argument("--preset", default=None, help="mnist5k | digits | digits-2layer | mnist5k-2layer | stl10-paper "
                       "(default: the data set's)")
    learn.add_argument("--seeds", type=int, default=3, help="number of seeds (0 .. N-1)")
    learn.add_argument("--seed", type=int, action="append", default=None, metavar="S",
                       help="run this seed (repeat for several); replaces --seeds")
    learn.add_argument("--epochs", type=int, default=None, help="training epochs (default: the preset's)")
    learn.add_argument("--max-train-images", type=int, default=None, help="images per epoch (default: all)")
    learn.add_argument("--out", default=os.path.join(OUT_ROOT, "learn"),
                       help="folder for checkpoints, results and figures (checked before any work)")
    learn.add_argument("--data-dir", default=None, help="folder with the STL-10 binary files (stl10 only)")
    learn.add_argument("--no-unlabeled", dest="unlabeled", action="store_false",
                       help="stl10: train on the labelled training split only (default: with the 100 000 unlabeled "
                            "images, as the official code)")
    learn.add_argument("--backend", default="numpy", choices=("numpy", "cupy"),
                       help="array backend of the rate rules: numpy (CPU) or cupy (an NVIDIA GPU; pip install "
                            "cupy-cuda12x)")
    learn.add_argument("--resume", action="store_true", help="continue from the checkpoints in --out")
    learn.add_argument("--force", action="store_true",
                       help="discard a study already in --out (checkpoints, results, figures) and start again")
    learn.add_argument("--no-progress", action="store_true", help="no progress bars")
    learn.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    learn.add_argument("--figures", default=None, metavar="DIR", help="folder for figures (default: --out)")
    learn.add_argument("--no-figure", action="store_true", help="do not write the figures")
    sp = learn.add_argument_group("spiking learners (spiking-clapp, spiking-clopath, spiking-random, stdp-wta, "
                                  "spiking-clapp-legacy)")
    sp.add_argument("--ablation", default="none",
                    help="spiking-clapp ablations to run as well, comma-separated: none, broadcast-off, "
                         "shuffled-saccades, no-apical, hinge (CLAPP's hinge gate, margin 0.02 nA)")
    sp.add_argument("--eval-repeats", type=int, default=None, metavar="R",
                    help="presentations of every evaluation image, counts summed (readout reported at R and at 1; "
                         "default: the preset's, 5)")
    sp.add_argument("--t-fix", type=float, default=None, help="fixation duration (ms; default: the preset's)")
    sp.add_argument("--neurons", default=None, help="neurons per layer, comma-separated (default: the preset's)")
    sp.add_argument("--rate-max", type=float, default=None, help="largest input rate of an ON/OFF channel (Hz)")
    sp.add_argument("--lr", type=float, default=None, help="multiplies the Clopath amplitudes A_LTP, A_LTD")
    sp.add_argument("--device", default="cpp", choices=("cpp", "cuda"), help="Brian2 device of the spiking learners")
    dc = learn.add_argument_group("diehl-cook (--neurons: excitatory neurons, one size or a comma-separated list, "
                                  "default 100; --epochs default 3)")
    dc.add_argument("--repeat-train", type=int, default=1, metavar="K",
                    help="diehl-cook: show the training images K times per epoch (more presentations, same images)")
    dc.add_argument("--eval-images", type=int, default=None, metavar="N",
                    help="diehl-cook: evaluate on fixed random subsets of N training and N test images (default: all)")

    bench = sub.add_parser("bench", help="benchmarks")
    bsub = bench.add_subparsers(dest="command", required=True, parser_class=_Parser)
    bc = _add(bsub, "clopath", "N AdEx-Clopath neurons x K plastic Poisson inputs (NEST-mirroring)")
    bc.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    bc.add_argument("--neurons", type=int, default=1000, help="number of AdEx-Clopath neurons")
    bc.add_argument("--inputs", type=int, default=200, help="plastic Poisson inputs per neuron")
    bc.add_argument("--rate", type=float, default=10.0, help="input rate (Hz)")
    bc.add_argument("--duration", type=float, default=1.0, help="simulated time (s)")
    bc.add_argument("--device", default="cpp", choices=("runtime", "cpp", "cuda"), help="Brian2 device")
    _speed(bc)
    bc.add_argument("--drive", type=float, default=500.0, help="constant drive (pA)")
    bc.add_argument("--formulation", default="accumulator", choices=("accumulator", "event", "naive"),
                    help="form of the Clopath rule")
    bc.add_argument("--dt", type=float, default=0.1, help="time step (ms)")
    bc.add_argument("--compile-only", action="store_true", help="generate and compile, do not run")
    bc.add_argument("--quick-compile", action="store_true",
                    help="with --compile-only: compile without optimisation (a compile check; faster)")
    bc.add_argument("--compute-capability", type=float, default=None,
                    help="CUDA without a GPU: compile for this compute capability (e.g. 9.0)")
    bc.add_argument("--out", default=os.path.join(OUT_ROOT, "bench"), metavar="DIR",
                    help="writes DIR/bench_clopath.json, the record the command prints")
    _yes(bc)

    cache = sub.add_parser("cache", help="the cache of compiled C++/CUDA projects (CORTEX_SIM_CACHE)")
    csub = cache.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ci = _add(csub, "info", "list the cached projects: device, size, last use, compiles, whether the next use rebuilds")
    ci.add_argument("--json", action="store_true", help="print the list as JSON on stdout")
    cc = _add(csub, "clear", "remove cached projects (all, or those unused for DAYS, or one by name); "
                             "the next run compiles them again")
    cc.add_argument("--older-than", type=float, default=None, metavar="DAYS",
                    help="only projects not built or run for this many days")
    cc.add_argument("--name", default=None, help="only this project (its folder name, with or without the fingerprint)")
    cc.add_argument("--json", action="store_true", help="print the removed folders as JSON on stdout")
    return parser


#: wall seconds per neuron and simulated second at dt = 0.1 ms (C++ standalone, the pairing
#: experiment: 24.6 s for 15 neurons x 286 s, benchmarks/RESULTS.md); used for the soft time limit
WALL_PER_NEURON_SECOND = 6e-3
SOFT_LIMIT_S = 3600.0


def _check_budget(args, neurons, simulated_s, what):
    """Refuse (exit 2) a run estimated above an hour of wall time unless --yes."""
    estimate = neurons * simulated_s * WALL_PER_NEURON_SECOND * (0.1 / args.dt)
    if estimate > SOFT_LIMIT_S and not args.yes:
        if neurons * simulated_s * WALL_PER_NEURON_SECOND <= SOFT_LIMIT_S:   # the time step makes it long
            raise CortexSimError(
                f"--dt: got {args.dt:g} ms, which makes {simulated_s:.3g} s simulated for {neurons} neurons an "
                f"estimated {estimate / 3600:.1f} h; allowed: up to {SOFT_LIMIT_S / 3600:.0f} h without --yes "
                "(dt is in ms: 0.1 is the default)")
        raise CortexSimError(
            f"{what}: {simulated_s:.3g} s simulated for {neurons} neurons at dt {args.dt:g} ms, an estimated "
            f"{estimate / 3600:.1f} h; allowed: up to {SOFT_LIMIT_S / 3600:.0f} h without --yes")


def _meta(args):
    """What a JSON result carries about how it was made: the command, its parameters and the unit of
    every parameter that has one (from the option's help)."""
    skip = {"json", "group", "command", "verbose", "quiet", "yes"}
    params = {k: v for k, v in sorted(vars(args).items()) if k not in skip}
    cmd = " ".join(x for x in (args.group, getattr(args, "command", None)) if x)
    units = _option_units().get(tuple(cmd.split()), {})
    return {"version": __version__, "command": cmd, "parameters": params,
            "units": {k: u for k, u in units.items() if k in params}}


def _option_units():
    """{(group, command): {dest: unit}} read from the options' help texts, e.g. '(ms)', '(Hz)'."""
    import re

    if "_units" not in _option_units.__dict__:
        rx = re.compile(r"^s between|\((ms|s|Hz|pA|nA|mV)\b")
        found = {}

        def walk(parser, path):
            for a in parser._actions:
                if isinstance(a, argparse._SubParsersAction):
                    for name, sp in a.choices.items():
                        walk(sp, path + (name,))
                elif a.help and a.dest != "help":
                    m = rx.search(a.help)
                    if m:
                        found.setdefault(path, {})[a.dest] = m.group(1) or "s"
        walk(build_parser(), ())
        _option_units._units = found
    return _option_units._units


def _print_json(args, out):
    print(json.dumps({**out, "cortex_sim": _meta(args)}), flush=True)


def _repo_path(command, *parts):
    """A path in the repository (stored results, notebooks): these commands run from a clone."""
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent.joinpath(*parts)
    if not path.exists():
        raise CortexSimError(f"{command}: {str(path)!r} is missing; allowed: run from a clone of the repository "
                             "(it is kept in git)")
    return path


def _stored(name):
    """A folder or file of stored study results (results/ at the repository root)."""
    return _repo_path("figures", "results", name)


def _figure_jobs():
    """name -> function returning a figure; the README's figures, all of them."""
    from . import plotting

    def sim(name):
        def make():
            from .protocols.bac import run_bac
            from .protocols.clamp import run_clamp
            from .protocols.frequency import run_frequency, run_window
            from .protocols.pairing import run_pairing

            if name == "bac":
                return plotting.plot_bac(run_bac())
            if name == "clamp":
                return plotting.plot_clamp([run_clamp(p) for p in ("visual", "somatosensory", "hippocampal")])
            run = {"pairing": run_pairing, "frequency": run_frequency, "window": run_window}[name]
            return getattr(plotting, f"plot_{name}")(run(report="stderr"))
        return make

    def study(folder):
        def make():
            results = json.loads((_stored(folder) / "results.json").read_text())["results"]
            return plotting.plot_readout([r for r in results if "/" not in r["rule"]])
        return make

    def fields():
        from .learning.study import receptive_field_figure

        return receptive_field_figure(_stored("spiking_mnist5k"), "mnist5k", "spiking-clapp")

    def scaling():
        return plotting.plot_scaling(json.loads((_stored("scaling.json")).read_text()))

    def diehl_cook(what):
        def make():
            import numpy as np

            from .learning.diehl_cook.study import DiehlCookStudy, plot_curve, plot_fields

            folder = _stored("diehl_cook_mnist5k")
            data = json.loads((folder / "results.json").read_text())
            if what == "curve":
                return plot_curve(DiehlCookStudy(data["results"], data["per_seed"], data["dataset"], data["config"]))
            rec = json.loads((folder / "fields.json").read_text())
            with np.load(folder / "weights" / rec["file"]) as z:
                return plot_fields(z["w"], title=rec["title"])
        return make

    jobs = {name: sim(name) for name in ("bac", "clamp", "pairing", "frequency", "window")}
    jobs.update({"readout": study("rate_mnist5k"),
                 "spiking_mnist5k_readout": study("spiking_mnist5k"),
                 "spiking_digits_readout": study("spiking_digits"),
                 "spiking_mnist5k_receptive_fields": fields, "scaling": scaling,
                 "diehl_cook_curve": diehl_cook("curve"), "diehl_cook_fields": diehl_cook("fields")})
    return jobs


def _cmd_figures(args):
    """Simulation figures are rerun; study and benchmark figures are re-plotted from results/
    (rerunning those takes hours: see the README for the commands that made them)."""
    from . import plotting

    jobs = _figure_jobs()
    names = list(jobs) if args.only is None else [n.strip() for n in args.only.split(",") if n.strip()]
    for n in names:
        check_choice("--only", n, list(jobs))
    written = []
    for name in names:
        logging.getLogger("cortex_sim").info(f"figure {name} ...")
        written.append(str(plotting.save_figure(jobs[name](), os.path.join(args.out, f"{name}.png"))))
    if args.json:
        _print_json(args, {"figures": written})
    else:
        print("\n".join(written))


def _cmd_notebooks(args):
    """Execute the notebooks in a scratch folder (what they write stays out of the repository)
    and store each one with its outputs, atomically."""
    import tempfile
    import time

    from ._files import atomic_path

    paths = sorted(_repo_path("notebooks", "notebooks").glob("*.ipynb"))
    names = [p.stem for p in paths]
    chosen = names if args.only is None else [n.strip().removesuffix(".ipynb") for n in args.only.split(",")]
    for n in chosen:
        check_choice("--only", n, names)
    check_int("--timeout", args.timeout, low=10)
    rows = []
    for path in paths:
        if path.stem not in chosen:
            continue
        row = {"notebook": str(path)}
        if args.execute:
            try:
                import nbformat
                from nbclient import NotebookClient
            except ImportError:
                raise CortexSimError("--execute: nbclient and nbformat are missing; allowed: install the test "
                                     "extra (pip install -e '.[test]'; ./dev test installs it)") from None
            logging.getLogger("cortex_sim").info(f"executing {path.name} ...")
            nb = nbformat.read(path, as_version=4)
            t0 = time.perf_counter()
            from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

            with tempfile.TemporaryDirectory() as scratch:
                try:
                    NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                                   resources={"metadata": {"path": scratch}}).execute()
                except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise JobFailedError(f"notebook {path.name} failed ({first}); the stored notebook is "
                                         "unchanged") from None
            row["seconds"] = round(time.perf_counter() - t0, 1)
            with atomic_path(path) as tmp:
                nbformat.write(nb, tmp)
            logging.getLogger("cortex_sim").info(f"{path.name}: {row['seconds']} s, outputs stored")
        rows.append(row)
    if args.json:
        _print_json(args, {"notebooks": rows})
    else:
        for r in rows:
            print(r["notebook"] + (f"  executed in {r['seconds']} s" if "seconds" in r else ""))


SWEEP_JOBS = ("pairing", "frequency", "window", "bench", "learn")


def _key_values(option, items, parse_value=True):
    import yaml

    out = {}
    for item in items:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise CortexSimError(f"{option}: got {item!r}; allowed: NAME=VALUE" + (",..." if not parse_value else ""))
        name, value = item.split("=", 1)
        out[name.strip()] = yaml.safe_load(value) if parse_value else value
    return out


def _cmd_sweep(args):
    from .sweeps import parse_cluster_options, run_sweep

    grid = {name: _list_items(f"--param {name}", values, numeric=False)
            for name, values in _key_values("--param", args.param, parse_value=False).items()}
    if not grid:
        raise CortexSimError("--param: got none; allowed: one or more NAME=V1,V2,... (see cortex-sim sweep --help)")
    options = _key_values("--option", args.option)
    if args.trial_interval is not None:
        options["trial_interval_s"] = args.trial_interval
    if args.job in ("pairing", "frequency", "window", "bench") and "dt_ms" not in options:
        options["dt_ms"] = args.dt
    if args.job == "pairing" and "trial_interval_s" not in options:
        options["trial_interval_s"] = 10.0
    cluster = args.cluster if args.processes is None else f"local:{check_int('--processes', args.processes, low=1)}"
    cluster_options = parse_cluster_options(args.cluster_opt, args.cluster_config)
    if args.print_job_script:
        from .sweeps import make_cluster

        if cluster not in ("slurm", "pbs"):
            raise CortexSimError(f"--print-job-script: got --cluster {cluster}; allowed: with --cluster slurm or pbs")
        batch = make_cluster(cluster, cluster_options)
        try:
            print(batch.job_script())
        finally:
            batch.close()
        return
    store = args.store or os.path.join(args.out, args.job)
    res = run_sweep(args.job, grid, options, cluster=cluster, cluster_options=cluster_options, store=store,
                    force=args.force, report="stderr", figure=not args.no_figure)
    if args.json:
        rows = [{**pt, **(rec or {})} for pt, rec in zip(res.point_list, res.records)]
        _print_json(args, {**res.to_dict(), "rows": rows, "errors": res.errors, "wall_s": res.wall_s,
                           "figure": res.figure_path, "dashboard": res.dashboard})
        return
    for pt, rec in zip(res.point_list, res.records):
        shown = {**pt, **(rec or {"error": "failed"})}
        print(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items()))
    print(f"{res.points} points: {res.ran} ran, {res.skipped} from the store, {res.failed} failed, in "
          f"{res.wall_s:.1f} s; store {res.store}, dataset {res.dataset_path}"
          + (f", figure {res.figure_path}" if res.figure_path else ""))


def _cmd_bench(args):
    from .bench import bench_clopath

    out = bench_clopath(neurons=args.neurons, inputs=args.inputs, rate_hz=args.rate,
                        duration_s=args.duration, device=args.device,
                        drive_pA=args.drive, formulation=args.formulation, dt_ms=args.dt,
                        compile_only=args.compile_only, compute_capability=args.compute_capability,
                        quick_compile=args.quick_compile, **_speed_kwargs(args),
                        max_wall_s=None if args.yes else SOFT_LIMIT_S, report="stderr")
    from ._files import atomic_path

    path = os.path.join(args.out, "bench_clopath.json")
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            json.dump({**out, "cortex_sim": _meta(args)}, f, indent=1)
    if args.json:
        _print_json(args, out)
    else:
        for k, v in out.items():
            print(f"{k:14s} {v}")
        print(f"record: {path}")


def _cmd_frequency(args):
    from .protocols.frequency import pairing_times, rms_vs_data, run_frequency

    rates = _floats("--rates", args.rates)
    for r in rates:
        if not 0 < r <= 1000:
            raise CortexSimError(f"--rates: got {r:g} Hz; allowed: 0 < rate <= 1000 Hz")
    if args.groups is not None and not 1 <= args.groups <= 10000:
        raise CortexSimError(f"--groups: got {args.groups}; allowed: 1 to 10000")
    longest = max(float(pairing_times(r, 10.0, schedule=args.schedule, n_groups=args.groups)[1].max()) for r in rates)
    _check_budget(args, 2 * len(rates), longest, "--rates/--groups")
    neuron = args.neuron or ("clopath2010-code" if args.schedule == "authors" else "clopath2010")
    res = run_frequency(rates=rates, n_groups=args.groups, dt=_ms(args.dt),
                        device=args.device, report="stderr", schedule=args.schedule, neuron=neuron,
                        formulation=args.formulation, **_speed_kwargs(args))
    out = res.to_dict()
    out["neuron"] = neuron
    out["rms_vs_data"] = rms_vs_data(res.rows)
    _emit(args, out, res, "frequency", lambda: [
        f"rate {r['rate_hz']:5g} Hz  delta t {r['delta_t_ms']:+5g} ms  w/w0 = {r['w_ratio']:.3f}"
        for r in out["rows"]] + [f"RMS vs Sjöström 2001: {out['rms_vs_data']:.3f}"])


def _cmd_window(args):
    from .protocols.frequency import pairing_times, run_window

    deltas = _floats("--delta-ts", args.delta_ts)
    if not 0 < args.rate <= 1000:
        raise CortexSimError(f"--rate: got {args.rate:g} Hz; allowed: 0 < rate <= 1000 Hz")
    check_int("--groups", args.groups, low=1, high=10000)
    _check_budget(args, len(deltas), float(pairing_times(args.rate, 10.0, n_groups=args.groups)[1].max()),
                  "--rate/--groups")
    res = run_window(delta_ts=deltas, rate=args.rate, n_groups=args.groups,
                     dt=_ms(args.dt), device=args.device, report="stderr", formulation=args.formulation,
                     **_speed_kwargs(args))
    _emit(args, res.to_dict(), res, "window", lambda: [
        f"delta t {r['delta_t_ms']:+5g} ms  w/w0 = {r['w_ratio']:.3f}" for r in res.rows])


def _speed_kwargs(args):
    check_int("--threads", args.threads, low=1, high=os.cpu_count() or 1)
    return {"method": args.method, "precision": args.precision, "threads": args.threads}


def _emit(args, out, res, figure, lines):
    """Print the JSON (or the readable lines), then write the figure ``figure``.png."""
    from . import plotting

    if args.json:
        _print_json(args, out)
    else:
        for line in lines():
            print(line)
    if not args.no_figure:
        fig_path = plotting.save_figure(getattr(plotting, f"plot_{figure}")(res), os.path.join(args.out, f"{figure}.png"))
        if not args.json:
            print(f"figure: {fig_path}")


def _cmd_bac(args):
    from brian2 import nA

    from .protocols.bac import run_bac

    res = run_bac(apical_delay=_ms(args.apical_delay), soma_amp=args.soma_amp * nA,
                  apical_amp=args.apical_amp * nA, dt=_ms(args.dt), device=args.device)
    _emit(args, res.to_dict(), res, "bac", lambda: [
        f"{cond:12s} {d['n_spikes']} spike(s), plateau {d['plateau_ms']:.1f} ms"
        for cond, d in res.to_dict().items()])


def _cmd_clamp(args):
    from brian2 import mV

    from .protocols.clamp import run_clamp

    check_int("--points", args.points, low=2, high=10000)
    res = run_clamp(args.params, n_points=args.points, u_min=-80 * mV, u_max=0 * mV, dt=_ms(args.dt),
                    device=args.device)
    out = res.to_dict()

    def lines():
        p = out["params"]
        yield (f"Clopath preset {args.params}: theta_minus {p['theta_minus_mV']} mV, theta_plus "
               f"{p['theta_plus_mV']} mV; net LTP above {res.params.ltp_threshold_voltage}")
        for row in out["rows"]:
            yield f"  u = {row['u_clamp_mV']:7.2f} mV   dw per presynaptic spike = {row['dw_per_spike']:+.6f} (weight units; the weight starts at 0)"

    _emit(args, out, res, "clamp", lines)


def _floats(name, text, cast=float):
    """A comma-separated list of numbers as people type it: negative values, and ``start:stop:step``
    ranges (stop included when on the grid), e.g. ``-15:15:5`` or ``-20,-10,0:20:5``."""
    return tuple(cast(v) for v in _list_items(name, text, cast))


def _list_items(name, text, cast=float, numeric=True):
    """The items of a comma-separated list with ranges expanded; ``numeric=False`` keeps items that
    are not numbers or ranges as strings (sweep grids of names)."""
    kind = "integers" if cast is int else "numbers"
    allowed = f"allowed: comma-separated {kind} or start:stop:step ranges, e.g. -10,-5,0,5 or -15:15:5"
    items = [x.strip() for x in str(text).split(",")]
    if not any(items):
        raise CortexSimError(f"{name}: got no values; {allowed}")
    if not all(items):
        raise CortexSimError(f"{name}: got {text!r} (an empty entry); {allowed}")
    out = []
    for item in items:
        if ":" in item:
            if not numeric:   # a grid of strings: an integer range stays integers
                ints = all(p.strip().lstrip("+-").isdigit() for p in item.split(":"))
                out += [str(v) for v in _range(name, item, int if ints else float, allowed)]
            else:
                out += _range(name, item, cast, allowed)
            continue
        try:
            out.append(cast(item))
        except ValueError:
            if numeric:
                raise CortexSimError(f"{name}: got {item!r} in {text!r}; {allowed}") from None
            out.append(item)
        else:
            if not numeric:
                out[-1] = item   # as typed: '10' stays '10' (the sweep types and keys its values)
    return out


def _range(name, item, cast, allowed):
    parts = item.split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        start, stop, step = (cast(p) for p in parts)
    except ValueError:
        raise CortexSimError(f"{name}: got {item!r}; {allowed}") from None
    if step == 0 or (stop - start) * step < 0:
        raise CortexSimError(f"{name}: got the range {item!r}; allowed: a step that is not 0 and goes from start "
                             "towards stop")
    n = int((stop - start) / step + 1e-9) + 1
    if n > 100000:
        raise CortexSimError(f"{name}: got the range {item!r} ({n} values); allowed: at most 100000 values")
    return [cast(round(start + k * step, 12)) for k in range(n)]


def _attach_negative_values(argv, value_options):
    """``--delta-ts -5,5`` -> ``--delta-ts=-5,5``: argparse reads a value that starts with '-' and is not
    a single number as an option; attached with '=' it is the option's value."""
    out, i = [], 0
    while i < len(argv):
        tok = argv[i]
        if tok == "--":
            return out + list(argv[i:])
        if tok in value_options and i + 1 < len(argv) and len(argv[i + 1]) > 1 and argv[i + 1][0] == "-" \
                and (argv[i + 1][1].isdigit() or argv[i + 1][1] == "."):
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


def _kept_checkpoints(out):
    """What an interrupted study leaves: the checkpoint and readout files that exist, or nothing."""
    from pathlib import Path

    out = Path(out)
    files = sorted(out.glob("checkpoints/*.npz")) + sorted(out.glob("readouts/*.json"))
    if not files:
        return "nothing kept (interrupted before the first checkpoint); the same command starts again"
    names = ", ".join(str(f.relative_to(out)) for f in files[:4]) + (f" and {len(files) - 4} more" if len(files) > 4 else "")
    return f"kept in {out}: {names}; the same command with --resume continues from them"


def _cmd_pairing(args):
    from brian2 import mV, second

    from .params import preset
    from .protocols.pairing import PairingConfig, _schedule, run_pairing

    cfg = PairingConfig(apical_delay=_ms(args.apical_delay), n_pairings=args.n_pairings,
                        trial_interval=args.trial_interval * second,
                        dt=_ms(args.dt), window_delays=_floats("--window", args.window),
                        pairing_counts=_floats("--counts", args.counts, int)).check()
    _check_budget(args, 2 + len(cfg.window_delays) + len(cfg.pairing_counts), _schedule(cfg)[1],
                  "--trial-interval/--n-pairings/--counts")
    rule = preset("clopath", "visual")
    if args.theta_plus is not None:
        rule = rule.with_(theta_plus=args.theta_plus * mV)
    res = run_pairing(cfg, rule=rule, device=args.device, report="stderr", formulation=args.formulation,
                      **_speed_kwargs(args))
    out = res.to_dict()
    if args.json:
        _print_json(args, out)
    else:
        c = out["conditions"]
        print("Grewe pairing experiment (two-compartment L5 neuron, Clopath rule, M = +1)")
        print(f"  baseline s1 EPSP: {out['baseline_epsp_mV']:.2f} mV")
        for name in ("spike_alone", "paired", "apical_alone"):
            print(f"  {name:17s} EPSP ratio {c[name]['epsp_ratio']:.3f}   spikes per trial "
                  f"{c[name]['spikes_per_trial']}")
        print(f"  unpaired pathway  EPSP ratio {c['unpaired_pathway']['epsp_ratio']:.3f}")
        print("  window: " + ", ".join(f"{r['apical_delay_ms']:+g} ms -> {r['epsp_ratio']:.3f}" for r in out["window"]))
        print("  pairings: " + ", ".join(f"{r['n_pairings']} -> {r['epsp_ratio']:.3f}" for r in out["pairing_counts"]))
    if not args.no_figure:
        from .plotting import plot_pairing, save_figure

        fig_path = save_figure(plot_pairing(res), os.path.join(args.out, "pairing.png"))
        if not args.json:
            print(f"figure: {fig_path}")


def _cmd_learn(args):
    from pathlib import Path

    from ._files import owned_folder
    from .errors import RunInterrupted
    from .learning.study import check_study, run_study

    overrides = {}
    if args.t_fix is not None:
        overrides["t_fix_ms"] = args.t_fix
    if args.neurons is not None:
        overrides["neurons"] = _floats("--neurons", args.neurons, int)
    if args.rate_max is not None:
        overrides["rate_max_hz"] = args.rate_max
    if args.lr is not None:
        overrides["lr"] = args.lr
    if args.eval_repeats is not None:
        overrides["eval_repeats"] = args.eval_repeats
    ablations = tuple(a.strip() for a in args.ablation.split(",") if a.strip())
    seeds = args.seed if args.seed else args.seeds
    if args.resume and args.force:
        raise CortexSimError("--force: got it with --resume; allowed: one of them (--resume continues the study "
                             "in --out, --force starts it again)")
    if "diehl-cook" in [r.strip() for r in str(args.rule).split(",")]:
        return _cmd_diehl_cook(args, overrides, ablations, seeds)
    for name, value in (("--repeat-train", args.repeat_train != 1), ("--eval-images", args.eval_images is not None)):
        if value:
            raise CortexSimError(f"{name}: got it with rule {args.rule!r}; allowed: only with --rule diehl-cook")
    # what can be checked without data first (bad input is named before the folder's state)
    check_study(args.rule, args.dataset, seeds, backend=args.backend, ablations=ablations or ("none",),
                spiking_overrides=overrides)
    with owned_folder(args.out, "--out"):
        _refuse_overwrite(Path(args.out), args)
        if args.resume and not (Path(args.out) / "checkpoints").exists():
            logging.getLogger("cortex_sim").warning(
                f"--resume: no checkpoints in {args.out!r}; starting from scratch")
        try:
            res = run_study(args.rule, args.dataset, seeds, args.epochs, args.out, preset=args.preset,
                            data_dir=args.data_dir, resume=args.resume,
                            progress=not args.no_progress and not args.quiet,
                            max_train_images=args.max_train_images, use_unlabeled=None if args.unlabeled else False,
                            ablations=ablations or ("none",), spiking_overrides=overrides, device=args.device,
                            backend=args.backend)
        except KeyboardInterrupt:
            raise RunInterrupted(kept=_kept_checkpoints(args.out)) from None
        _learn_outputs(args, res)


def _cmd_diehl_cook(args, overrides, ablations, seeds):
    """``learn --rule diehl-cook``: the Diehl & Cook study (sizes from --neurons)."""
    from pathlib import Path

    from ._files import owned_folder
    from .errors import RunInterrupted
    from .learning.diehl_cook import DiehlCookConfig
    from .learning.diehl_cook.study import plot_curve, plot_fields, run_diehl_cook_study
    from .learning.study import seed_list

    if args.rule.strip() != "diehl-cook":
        raise CortexSimError(f"--rule: got {args.rule!r}; allowed: diehl-cook alone (its study has its own tables)")
    unused = [name for name, used in (("--ablation", ablations != ("none",)), ("--eval-repeats", args.eval_repeats),
                                      ("--t-fix", args.t_fix), ("--rate-max", args.rate_max), ("--lr", args.lr),
                                      ("--preset", args.preset), ("--backend", args.backend != "numpy"),
                                      ("--data-dir", args.data_dir)) if used not in (None, False)]
    if unused:
        raise CortexSimError(f"{unused[0]}: got it with --rule diehl-cook; allowed: --neurons, --epochs, --seeds/--seed, "
                             "--max-train-images, --repeat-train, --device, --out, --resume/--force")
    if args.dataset != "mnist5k":
        raise CortexSimError(f"--dataset: got {args.dataset!r} for rule 'diehl-cook'; allowed: 'mnist5k' (784 inputs)")
    sizes = overrides.get("neurons", (100,))
    for n in sizes:
        if not 1 <= n <= 6400:
            raise CortexSimError(f"--neurons: got {n}; allowed: 1 to 6400 excitatory neurons")
    changes = {"repeat_train": args.repeat_train, "max_train_images": args.max_train_images,
               "eval_images": args.eval_images}
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    config = DiehlCookConfig().with_(**changes)
    seed_list(seeds)
    with owned_folder(args.out, "--out"):
        _refuse_overwrite(Path(args.out), args)
        try:
            study = run_diehl_cook_study(args.dataset, seeds, args.out, neurons=sizes, config=config,
                                         resume=args.resume, progress=not args.no_progress and not args.quiet,
                                         device=args.device, report=None if args.quiet else "stderr")
        except KeyboardInterrupt:
            raise RunInterrupted(kept=_kept_checkpoints(args.out)) from None
    if args.json:
        _print_json(args, {"results": study.results, "anchors": study.to_dict()["anchors"]})
    else:
        from .learning.diehl_cook.study import diehl_cook_table

        print(diehl_cook_table(study))
        print(f"results: {args.out}/results.json, table: {args.out}/diehl_cook.md")
    if not args.no_figure:
        import numpy as np

        from .plotting import save_figure

        figures = args.figures or args.out
        last = study.per_seed[-1]
        with np.load(Path(args.out) / "weights" / f"diehl-cook-{last['neurons']}_{args.dataset}_seed{last['seed']}.npz") as z:
            w = z["w"]
        paths = [save_figure(plot_curve(study), Path(figures) / "diehl_cook_curve.png"),
                 save_figure(plot_fields(w, title=f"Diehl & Cook {last['neurons']} neurons, {args.dataset}, seed "
                                                  f"{last['seed']}, {last['presentations']} presentations: input "
                                                  f"weights of {min(100, last['neurons'])} of {last['neurons']} "
                                                  "excitatory neurons"), Path(figures) / "diehl_cook_fields.png")]
        if not args.json:
            print("figures: " + ", ".join(map(str, paths)))


def _refuse_overwrite(out, args):
    """A study already in ``out`` is never overwritten silently: --resume reuses it, --force
    discards it (its checkpoints, results and figures), anything else is one line, exit 2."""
    import shutil

    held = [p for p in ("results.json", "checkpoints") if (out / p).exists()]
    if not held or args.resume:
        return
    if args.force:
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
        for name in ("results.json", "readout.md", "readout.png", "spiking_readout.png",
                     "spiking_receptive_fields.png", "diehl_cook.md", "diehl_cook_curve.png", "diehl_cook_fields.png"):
            (out / name).unlink(missing_ok=True)
        return
    what = "a finished study (results.json)" if "results.json" in held else "the checkpoints of an unfinished study"
    raise CortexSimError(f"--out: got {str(out)!r}, which holds {what}; allowed: --resume (continue or reuse it), "
                         "--force (discard it and start again), or another --out")


def _learn_outputs(args, res):
    seeds = args.seed if args.seed else args.seeds
    spiking = "compiles" in res.config
    if args.json:
        keys = ("rule", "dataset", "layers", "layers_grid2x2", "layers_r1", "layers_grid2x2_r1", "eval_repeats",
                "mechanism", "reliability", "train_s", "seeds", "seed_list", "epochs")
        out = {"results": [{k: r[k] for k in keys if k in r} for r in res.results],
               "comparisons": res.comparisons, "references": res.references}
        if res.comparisons_all:
            out["comparisons_all"] = res.comparisons_all
        if spiking:
            out["compiles"] = sum(res.config["compiles"])
        _print_json(args, out)
    else:
        from .learning.study import markdown_table

        print(markdown_table(res))
        print(f"results: {args.out}/results.json, table: {args.out}/readout.md")
    if not args.no_figure:
        from .plotting import plot_readout, save_figure

        figures = args.figures or args.out
        paths = [save_figure(plot_readout(res.results),
                             os.path.join(figures, f"{'spiking_readout' if spiking else 'readout'}.png"))]
        first = next((r["rule"] for r in res.results if r["rule"] in ("spiking-clapp", "spiking-clopath", "stdp-wta")),
                     None)
        if spiking and first:
            from .learning.study import receptive_field_figure, seed_list

            paths.append(save_figure(receptive_field_figure(args.out, args.dataset, first, seed=seed_list(seeds)[0]),
                                     os.path.join(figures, "spiking_receptive_fields.png")))
        if not args.json:
            print("figures: " + ", ".join(map(str, paths)))


def _cmd_cache(args):
    import datetime

    from . import cache
    from .devices import cache_root

    root = cache_root()
    if args.command == "clear":
        if args.older_than is not None and args.older_than < 0:
            raise CortexSimError(f"--older-than: got {args.older_than:g}; allowed: a number of days >= 0")
        removed = cache.clear(root, older_than_days=args.older_than, name=args.name)
        if args.json:
            _print_json(args, {"cache": str(root), "removed": removed})
        else:
            print(f"removed {len(removed)} project(s) from {root}")
        return
    infos = cache.project_infos(root)
    if args.json:
        _print_json(args, {"cache": str(root), "projects": infos})
        return
    print(f"cache: {root}  ({len(infos)} projects, {sum(i['size'] for i in infos) / 1e6:.1f} MB)")
    for i in infos:
        used = datetime.datetime.fromtimestamp(i["last_used"]).strftime("%Y-%m-%d %H:%M")
        print(f"  {i['device']:4s} {i['name']:45s} {i['size'] / 1e6:7.1f} MB  used {used}  "
              f"compiles {i['compiles']}" + (f"  rebuilds: {i['rebuild']}" if i["rebuild"] else ""))


COMMANDS = {("cache", "info"): _cmd_cache, ("cache", "clear"): _cmd_cache,
            ("neuron", "bac"): _cmd_bac, ("plasticity", "clamp"): _cmd_clamp,
            ("pairing", None): _cmd_pairing, ("plasticity", "frequency"): _cmd_frequency,
            ("plasticity", "window"): _cmd_window, ("bench", "clopath"): _cmd_bench,
            ("sweep", None): _cmd_sweep, ("figures", None): _cmd_figures,
            ("learn", None): _cmd_learn, ("notebooks", None): _cmd_notebooks}


def _setup_logging(args):
    """Progress on stderr through the ``cortex_sim`` logger: INFO by default, -q warnings only,
    -v DEBUG (and Brian2's INFO messages)."""
    from brian2 import BrianLogger

    quiet, verbose = getattr(args, "quiet", False), getattr(args, "verbose", 0) or 0
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logger = logging.getLogger("cortex_sim")
    logger.handlers[:] = []
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[cortex-sim] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    if verbose:
        BrianLogger.log_level_info()
    else:
        BrianLogger.log_level_warn()


def _check_outputs(args):
    """Every output path is checked before any work (exit 2 with one line if it cannot be written)."""
    from ._files import check_writable_dir

    if getattr(args, "out", None) is not None and not (getattr(args, "no_figure", False) and args.group != "learn"):
        check_writable_dir(args.out, "--out")
    if getattr(args, "figures", None) is not None and not args.no_figure:
        check_writable_dir(args.figures, "--figures")
    if args.group == "sweep" and args.store is not None:
        check_writable_dir(args.store, "--store")


def _interrupt(signum, frame):  # Ctrl-C and SIGTERM: stop at once (Brian2's own handler would
    raise KeyboardInterrupt        # first ask the run to stop and log a warning)


def main(argv=None):
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args, extra = parser.parse_known_args(_attach_negative_values(argv, _option_strings(parser, values_only=True)))
        if extra:   # named by the subcommand that was given, with a suggestion for each typo
            prog = " ".join(x for x in ("cortex-sim", args.group, getattr(args, "command", None)) if x)
            sys.stderr.write(f"cortex-sim: error: unrecognized arguments: {' '.join(extra)}"
                             f"{_did_you_mean(extra, _option_strings(parser))} (see '{prog} --help')\n")
            return 2
    except SystemExit as exc:  # --help, --version (0) or a usage error (2, one line already printed)
        return exc.code

    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display needed
        _setup_logging(args)  # imports brian2, which installs its SIGINT handler: replace it
        signal.signal(signal.SIGINT, _interrupt)
        dt_ms = getattr(args, "dt", 1.0)
        if not 0 < dt_ms <= 10:
            raise CortexSimError(f"--dt: got {dt_ms}; allowed: 0 < dt <= 10 ms")
        _check_outputs(args)
        COMMANDS[(args.group, getattr(args, "command", None))](args)
    except CortexSimError as exc:   # bad input: exit 2; a job that failed on valid input: exit 1
        sys.stderr.write(f"cortex-sim: error: {exc}\n".replace("\n", " ").rstrip() + "\n")
        return 1 if isinstance(exc, JobFailedError) else 2
    except BrokenPipeError:   # output piped into a reader that stopped (| head): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt as exc:
        kept = getattr(exc, "kept", "") or "nothing written"
        sys.stderr.write(f"cortex-sim: interrupted: {kept}\n")
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
