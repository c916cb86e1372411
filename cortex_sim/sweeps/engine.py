"""The sweep engine: points of a job on a Dask cluster, one record per point in a store.

A *job* (:class:`Job`, registered in :data:`JOBS`) is a pure function of its parameters: given one
point of the grid and the job's options it returns a flat record of numbers. :func:`run_sweep`
runs every point of a grid that is not yet in the store, on a ``dask.distributed`` client (a
``LocalCluster`` by default; see :mod:`cortex_sim.sweeps.cluster`), and writes each record
atomically as soon as it arrives. At the end the records are gathered into an ``xarray.Dataset``
(one dimension per swept parameter, written as netCDF), a JSON summary and a figure.

The store (``--store DIR``)::

    DIR/store.json          what the store holds: job, parameter names, options, package version
    DIR/points/<key>.json   one record per finished point (key: hash of job, options, point, version)
    DIR/failed/<key>.json   the error of a point that raised (run again by the next sweep)
    DIR/runs/<key>/         files a point writes (learn: checkpoints and readouts)
    DIR/dataset.nc, DIR/summary.json, DIR/sweep.png

Failures: a point that raises is recorded with its error and the others go on. A worker that dies
has its points re-run elsewhere (the scheduler reschedules them; ``distributed.scheduler.allowed-
failures`` times); a record is one file named by its key, so a point re-run is never in the
store twice.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .._files import atomic_path
from ..errors import ParameterError, RunInterrupted, check_choice
from .store import open_store, package_version, point_key, read_store, write_json

__all__ = ["Param", "Job", "protocol_job", "SweepResult", "run_sweep", "to_dataset"]


@dataclass(frozen=True)
class Param:
    """A sweepable parameter: its name, unit (for axes and help) and type."""

    name: str
    unit: str = ""
    kind: type = float
    allowed: tuple = ()   # for str parameters
    help: str = ""

    def cast(self, value):
        if self.kind is str:
            value = str(value).strip()
            if self.allowed:
                check_choice(self.name, value, self.allowed)
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{self.name}: got {value!r}; allowed: numbers"
                                 + (f" ({self.unit})" if self.unit else "")) from None
        if not np.isfinite(number):
            raise ParameterError(f"{self.name}: got {value!r}; allowed: finite numbers")
        if self.kind is int:
            if number != int(number):
                raise ParameterError(f"{self.name}: got {value!r}; allowed: whole numbers")
            return int(number)
        return number


@dataclass(frozen=True)
class Job:
    """A sweepable job.

    ``prepare(options) -> (options, fields)`` fills defaults and validates the options (one
    ParameterError naming the bad one) and returns, besides the options the point function gets
    (any picklable objects), ``fields``: a JSON dict of everything that determines a record
    besides the point (it keys the store). ``point(point, options, workdir) -> dict`` runs one
    point in a worker and returns its record (numbers); ``check_point(point, options)`` refuses a
    point before any work; ``plot`` names the output drawn by the figure.
    """

    name: str
    params: tuple
    prepare: Callable
    point: Callable
    plot: str
    check_point: Callable | None = None
    help: str = ""

    def param(self, name):
        names = [p.name for p in self.params]
        check_choice(f"sweep parameter of {self.name}", name, names)
        return self.params[names.index(name)]


#: the sweepable jobs by name (filled by :mod:`cortex_sim.sweeps.jobs`)
JOBS: dict[str, Job] = {}


#: per worker process: the compiled experiments of the protocols it ran, newest last
_EXPERIMENTS: dict = {}
_KEEP_EXPERIMENTS = 4


def _experiment(protocol):
    """The worker's compiled experiment of ``protocol`` (compiled, or found in the project cache,
    by the first point that needs it; kept for the next points of the same configuration)."""
    from ..experiment import CompiledExperiment

    key = (type(protocol).__module__, type(protocol).__qualname__,
           json.dumps(protocol.fields(), sort_keys=True, default=str))
    exp = _EXPERIMENTS.pop(key, None)
    if exp is None:
        exp = CompiledExperiment(protocol, device="cpp")
    _EXPERIMENTS[key] = exp
    while len(_EXPERIMENTS) > _KEEP_EXPERIMENTS:
        _EXPERIMENTS.pop(next(iter(_EXPERIMENTS))).close()
    return exp


def protocol_job(name: str, make: Callable, params=None, *, plot: str, help: str = "") -> Job:
    """A :class:`Job` that runs a :class:`~cortex_sim.experiment.Protocol` at every point.

    Each worker compiles the protocol once (one project per host in the cache, under its lock)
    and runs it with each point's values through Brian2's ``run_args``, in a run folder of its own.

    Parameters
    ----------
    name : str
        The job's name (in the store and in messages).
    make : callable
        ``make(options) -> Protocol``: validates the sweep's options (one ParameterError naming the
        bad one) and returns the configured protocol; ``make(None)`` returns a default one.
    params : tuple of Param, optional
        The sweepable parameters with their help; default: one per ``protocol.sweepable``.
    plot : str
        The record field the figure draws.

    Examples
    --------
    >>> from cortex_sim.protocols.pairing import PairingProtocol
    >>> job = protocol_job("pairing", lambda o: PairingProtocol(record_traces=False), plot="paired_epsp_ratio")
    >>> [p.name for p in job.params]
    ['apical_delay', 'apical_amp']
    """
    if params is None:
        proto = make(None)
        params = tuple(Param(n, str(u)) for n, u in proto.sweepable.items())

    def prepare(options):
        protocol = make(options)
        return {"protocol": protocol}, {"protocol": type(protocol).__qualname__, **protocol.fields()}

    def point(values, options, workdir):
        exp = _experiment(options["protocol"])
        row = dict(options["protocol"].row(exp.run(values)))
        row["run_s"] = float(exp.last_run_s)
        return row

    def check_point(values, options):
        options["protocol"].check_values(values)

    return Job(name, tuple(params), prepare, point, plot=plot, check_point=check_point, help=help)


@dataclass
class SweepResult:
    """What :func:`run_sweep` did: counts, the store and the gathered dataset."""

    points: int
    ran: int
    skipped: int
    failed: int
    store: str | None
    dataset_path: str | None
    records: list                       # one per grid point, in grid order (None where failed)
    errors: dict = field(default_factory=dict)   # point key -> error text
    dataset: object = None              # xarray.Dataset of this grid
    figure_path: str | None = None
    store_points: int = 0               # points in the store's dataset.nc and sweep.png (every stored one)
    wall_s: float = 0.0
    dashboard: str | None = None
    point_list: list = field(default_factory=list)   # the grid points, in grid order
    keys: list = field(default_factory=list)         # their store keys

    def to_dict(self):
        return {"points": self.points, "ran": self.ran, "skipped": self.skipped, "failed": self.failed,
                "store": self.store, "dataset": self.dataset_path, "store_points": self.store_points}


def expand_grid(job: Job, grid: dict):
    """Validate ``grid`` (``{name: [values]}``) and return the points (dicts) of its product."""
    if not isinstance(grid, dict) or not grid:
        raise ParameterError(f"grid: got {grid!r}; allowed: one or more parameters of {job.name}: "
                             + ", ".join(p.name for p in job.params))
    cast = {}
    for name, values in grid.items():
        par = job.param(name)
        values = list(values) if not isinstance(values, (str, bytes)) else [values]
        if not values:
            raise ParameterError(f"{name}: got no values; allowed: one or more "
                                 + ("names" if par.kind is str else "numbers"))
        vals = [par.cast(v) for v in values]
        if len(set(vals)) != len(vals):
            raise ParameterError(f"{name}: got {values}, with repeats; allowed: distinct values")
        cast[name] = vals
    names = list(cast)
    return names, [dict(zip(names, combo)) for combo in itertools.product(*(cast[n] for n in names))]


# -- running ----------------------------------------------------------------------------------------

def run_point(job, point, options, key, workdir):
    """Run one point of ``job`` (in a worker); never raises: an error is returned as text."""
    t0 = time.perf_counter()
    try:
        record = job.point(point, options, workdir)
        return {"ok": True, "key": key, "point": point, "record": record, "seconds": time.perf_counter() - t0,
                "pid": os.getpid(), "host": socket.gethostname()}
    except Exception as exc:   # a failing point is a result, not the end of the sweep
        return {"ok": False, "key": key, "point": point, "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=8), "pid": os.getpid(), "host": socket.gethostname()}


def run_sweep(job, grid: dict, options: dict | None = None, *, client=None, cluster: str = "local",
              cluster_options: dict | None = None, store=None, force: bool = False, report=None,
              figure: bool = True, on_record=None) -> SweepResult:
    """Run ``job`` over the Cartesian product of ``grid``, skipping points already in ``store``.

    Parameters
    ----------
    job : str or Job
        A name of :data:`JOBS` ('pairing', 'frequency', 'window', 'bench', 'learn').
    grid : dict
        ``{parameter: [values, ...]}``; the parameters and their units are the job's ``params``.
    options : dict or None
        The job's fixed options (defaults filled in; an unknown name is an error).
    client : dask.distributed.Client or None
        Run on this client (the caller keeps it). Otherwise a cluster is made from ``cluster``
        ('local', 'local:N', 'tcp://HOST:PORT', 'slurm', 'pbs', or 'serial': in this process,
        without Dask) and closed at the end.
    store : path or None
        The result store (see the module's docstring); None keeps the records in memory only.
    force : bool
        Run every point again (the store's records are discarded).
    on_record : callable or None
        Called with each new record as it is stored (tests, notebooks).

    Returns
    -------
    SweepResult
        ``points``, ``ran``, ``skipped``, ``failed``, ``records`` in grid order, ``dataset``
        (xarray) and the paths of the netCDF file and figure in the store.
    """
    # the jobs are registered in JOBS when the package cortex_sim.sweeps is imported (before this
    # module: Python imports a module's package first), so no import of .jobs here
    from .cluster import close_cluster, make_client

    if isinstance(job, str):
        check_choice("job", job, sorted(JOBS))
        job = JOBS[job]
    names, points = expand_grid(job, grid)
    options, fields = job.prepare(dict(options or {}))
    if job.check_point is not None:
        for pt in points:
            job.check_point(pt, options)
    keys = [point_key(job.name, fields, pt) for pt in points]
    done = open_store(store, job, names, fields, force=force)
    todo = [k for k, key in enumerate(keys) if key not in done]
    records = {key: done[key] for key in keys if key in done}
    errors = {}
    t0 = time.perf_counter()
    dashboard = None

    def keep(res):
        if res["ok"]:
            entry = {k: res[k] for k in ("key", "point", "record", "seconds", "pid", "host")}
            records[res["key"]] = entry
            if store is not None:
                write_json(Path(store) / "points" / f"{res['key']}.json", entry)
                failed = Path(store) / "failed" / f"{res['key']}.json"
                if failed.exists():
                    failed.unlink()
            if on_record is not None:
                on_record(entry)
        else:
            errors[res["key"]] = res["error"]
            if store is not None:
                write_json(Path(store) / "failed" / f"{res['key']}.json", res)
            import logging

            logging.getLogger("cortex_sim").warning(f"point {res['point']} failed: {res['error']}")

    workdirs = [str(Path(store) / "runs" / keys[k]) if store is not None else None for k in range(len(points))]
    if todo:
        from ..reporting import progress_bar

        own = client is None and cluster != "serial"
        if cluster == "serial" and client is None:
            _log(report, f"{job.name}: {len(todo)} points in this process ({len(points) - len(todo)} in the store)")
            bar = progress_bar(report, len(todo), "points")
            try:
                for k in todo:
                    keep(run_point(job, points[k], options, keys[k], workdirs[k]))
                    bar.update()
            except KeyboardInterrupt:
                raise RunInterrupted(kept=_kept(store)) from None
            finally:
                bar.close()
        else:
            from distributed import as_completed

            if own:
                client = make_client(cluster, cluster_options, report=report)
            import importlib.util

            dashboard = (getattr(client, "dashboard_link", None) if importlib.util.find_spec("bokeh")
                         else None)
            _log(report, f"{job.name}: {len(todo)} points on {_describe(client)} ({len(points) - len(todo)} in the "
                         f"store); dashboard: {dashboard or 'needs bokeh (pip install bokeh)'}")
            bar = progress_bar(report, len(todo), "points")
            futures = []
            try:
                futures = [client.submit(run_point, job, points[k], options, keys[k], workdirs[k],
                                         key=f"cortex_sim-{job.name}-{keys[k]}", pure=False) for k in todo]
                for fut in as_completed(futures):
                    try:
                        res = fut.result()
                    except Exception as exc:  # the scheduler gave up on it (KilledWorker) or it was lost
                        k = todo[futures.index(fut)]
                        res = {"ok": False, "key": keys[k], "point": points[k], "error": f"{type(exc).__name__}: {exc}"}
                    keep(res)
                    bar.update()
                    bar.set_postfix(failed=len(errors), refresh=False)
            except KeyboardInterrupt:
                raise RunInterrupted(kept=_kept(store)) from None
            finally:
                bar.close()
                if own:
                    close_cluster(client)
                else:
                    client.cancel(futures)
    ordered = [records.get(key, {}).get("record") for key in keys]
    result = SweepResult(points=len(points), ran=len(todo) - len(errors), skipped=len(points) - len(todo),
                         failed=len(errors), store=str(store) if store is not None else None, dataset_path=None,
                         records=ordered, errors=errors, wall_s=time.perf_counter() - t0, dashboard=dashboard,
                         point_list=points, keys=keys)
    result.dataset = to_dataset(job, names, points, ordered, fields)
    if store is not None:
        # the store's dataset and figure hold every point stored over these parameters (earlier
        # grids included), not only this grid's
        stored = read_store(store).values()
        same = [r for r in stored if set(r.get("point", {})) == set(names)]
        store_ds = to_dataset(job, names, [r["point"] for r in same], [r.get("record") for r in same], fields,
                              sort=True) if same else result.dataset
        result.store_points = len(same) if same else len(points)
        if len(same) < len(stored):
            _log(report, f"{store}/dataset.nc holds the {len(same)} stored points over {', '.join(names)}; "
                         f"{len(stored) - len(same)} stored points over other parameters are left out")
        result.dataset_path = str(Path(store) / "dataset.nc")
        with atomic_path(result.dataset_path) as tmp:
            store_ds.to_netcdf(tmp, engine="scipy")
        write_json(Path(store) / "summary.json", {**result.to_dict(), "job": job.name, "params": names,
                                                   "fields": fields, "errors": errors,
                                                   "wall_s": result.wall_s})
        if figure:
            from ..plotting import save_figure
            from .plots import plot_sweep

            result.figure_path = str(save_figure(plot_sweep(store_ds, job.plot), Path(store) / "sweep.png"))
    _log(report, f"{job.name}: {result.ran} ran, {result.skipped} from the store, {result.failed} failed, "
                 f"in {result.wall_s:.1f} s")
    return result


def _kept(store):
    return (f"the finished points are in {store}; the same command runs the rest" if store is not None
            else "nothing kept (a store keeps finished points)")


def _describe(client):
    try:
        n = len(client.scheduler_info().get("workers", {}))
    except Exception:
        n = "?"
    return f"{n} Dask workers at {client.scheduler.address}"


def _log(report, message):
    from ..reporting import progress

    progress(report, message)


# -- gathering --------------------------------------------------------------------------------------

def to_dataset(job: Job, names, points, records, fields=None, sort=False):
    """An ``xarray.Dataset`` of the records: one dimension per swept parameter (in grid order, or
    sorted with ``sort``), one variable per numeric output (NaN where a point failed or is missing)."""
    import xarray as xr

    coords = {n: list(dict.fromkeys(pt[n] for pt in points)) for n in names}
    if sort:
        coords = {n: sorted(v) for n, v in coords.items()}
    shape = tuple(len(coords[n]) for n in names)
    outputs = list(dict.fromkeys(k for r in records if r for k, v in r.items()
                                 if isinstance(v, (int, float, bool, np.number)) and k not in names))
    data = {k: np.full(shape, np.nan) for k in outputs}
    for pt, rec in zip(points, records):
        if rec is None:
            continue
        idx = tuple(coords[n].index(pt[n]) for n in names)
        for k in outputs:
            if k in rec and rec[k] is not None:
                data[k][idx] = float(rec[k])
    ds = xr.Dataset({k: (names, v) for k, v in data.items()}, coords=coords)
    for n in names:
        ds[n].attrs["units"] = job.param(n).unit
    from .plots import VAR_LABELS

    for k in outputs:
        if k in VAR_LABELS:
            ds[k].attrs["long_name"] = VAR_LABELS[k]
    ds.attrs.update(job=job.name, cortex_sim=package_version(), fields=json.dumps(fields or {}, default=str))
    return ds
