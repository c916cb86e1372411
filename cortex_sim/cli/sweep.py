"""cortex-sim sweep: a job over a parameter grid on Dask."""

from __future__ import annotations

import os

from ..errors import CortexSimError, check_int
from ._options import OUT_ROOT, _add, _list_items, _print_json

def register(sub):
    """Add this command group to the top-level subparsers ``sub``."""
    sw = _add(sub, "sweep", "run a job over a parameter grid on Dask (a local cluster, a scheduler, SLURM/PBS), "
              "one record per point in a resumable store, gathered into an xarray dataset")
    sw.add_argument("job", choices=SWEEP_JOBS, help="the job to sweep")
    sw.add_argument("--param", action="append", default=[], metavar="NAME=V1,V2,...",
                    help="a swept parameter, values comma-separated or start:stop:step (e.g. "
                         "--param apical_delay=-10:10:5); repeat for a grid. pairing: apical_delay [ms], apical_amp [nA]; bac: apical_amp [nA], apical_delay [ms]; "
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
    sw.set_defaults(run=_cmd_sweep)


SWEEP_JOBS = ("pairing", "bac", "frequency", "window", "bench", "learn")   # = sweeps.JOBS (a test holds them equal)


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
    from ..sweeps import parse_cluster_options, run_sweep

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
        from ..sweeps import make_cluster

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
