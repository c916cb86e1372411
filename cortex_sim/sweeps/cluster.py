"""Where a sweep runs: ``--cluster local | local:N | tcp://HOST:PORT | slurm | pbs``.

- ``local``: a ``dask.distributed.LocalCluster`` with one single-threaded worker process per core
  (``local:N``: N workers). Each worker is a process of its own, so Brian2's global device state
  and the C++ binaries it runs never share a process.
- ``tcp://HOST:PORT``: an existing scheduler (``dask scheduler`` + ``dask worker``); unreachable
  within ``connect_timeout`` seconds is a clear error, not a hang.
- ``slurm`` / ``pbs``: ``dask_jobqueue.SLURMCluster`` / ``PBSCluster`` (the optional extra
  ``cortex_sim[cluster]``), options from a YAML file and ``key=value`` pairs (``cores``,
  ``memory``, ``walltime``, ``queue``, ``account``, ``jobs`` ...). Workers are single-threaded
  (``processes = cores`` unless given). ``jobs`` batch jobs are submitted when the sweep starts;
  :func:`make_cluster` alone submits nothing (``cluster.job_script()`` shows the script).

Compiled projects are shared through the cache folder (``CORTEX_SIM_CACHE``): on a cluster it
should be on a file system every worker of a host sees; the first worker compiles under a file
lock, the others wait and reuse the binary.
"""

from __future__ import annotations

import logging
import os

from ..errors import ParameterError, check_choice

__all__ = ["make_cluster", "make_client", "close_cluster"]

CLUSTER_KINDS = ("local", "local:N", "tcp://HOST:PORT", "slurm", "pbs", "serial")

#: how long a scheduler address may take to answer
CONNECT_TIMEOUT_S = 5


def _kind(spec):
    if not isinstance(spec, str):
        raise ParameterError(f"cluster: got {spec!r}; allowed: {', '.join(CLUSTER_KINDS)}")
    if spec == "local" or spec.startswith("local:"):
        return "local"
    if spec.startswith(("tcp://", "tls://", "ucx://")):
        return "address"
    if spec in ("slurm", "pbs", "serial"):
        return spec
    import difflib

    close = difflib.get_close_matches(spec, ["local", "slurm", "pbs", "serial"], n=1)
    raise ParameterError(f"cluster: got {spec!r}; allowed: {', '.join(CLUSTER_KINDS)}"
                         + (f"; did you mean {close[0]!r}?" if close else ""))


def _local_workers(spec):
    if spec == "local":
        return os.cpu_count() or 1
    text = spec.split(":", 1)[1]
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1 or str(n) != text.strip():
        raise ParameterError(f"cluster: got {spec!r}; allowed: local:N with N a whole number >= 1")
    return n


def parse_cluster_options(pairs=(), config_file=None):
    """Options of a batch cluster: a YAML file (a mapping) updated by ``key=value`` pairs."""
    opts = {}
    if config_file is not None:
        import yaml

        try:
            with open(config_file) as f:
                loaded = yaml.safe_load(f) or {}
        except OSError as exc:
            raise ParameterError(f"--cluster-config: got {str(config_file)!r} ({exc.strerror}); allowed: a readable "
                                 "YAML file") from None
        except yaml.YAMLError as exc:
            raise ParameterError(f"--cluster-config: {str(config_file)!r} is not valid YAML ({exc.__class__.__name__});"
                                 " allowed: a YAML mapping of option: value") from None
        if not isinstance(loaded, dict):
            raise ParameterError(f"--cluster-config: {str(config_file)!r} holds a {type(loaded).__name__}; allowed: a "
                                 "YAML mapping of option: value")
        opts.update(loaded)
    for item in pairs:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise ParameterError(f"--cluster-opt: got {item!r}; allowed: KEY=VALUE (e.g. memory=8GB)")
        k, v = item.split("=", 1)
        import yaml

        opts[k.strip().replace("-", "_")] = yaml.safe_load(v) if v.strip() else ""
    return opts


#: options dask-jobqueue's SLURMCluster / PBSCluster take (besides 'jobs', ours)
_JOBQUEUE_OPTIONS = ("cores", "memory", "processes", "walltime", "queue", "account", "project", "job_name",
                     "job_extra_directives", "job_script_prologue", "interface", "local_directory", "log_directory",
                     "python", "worker_extra_args", "resource_spec", "job_cpu", "job_mem", "shebang",
                     "scheduler_options", "death_timeout", "name")


def make_cluster(spec="local", options=None):
    """A Dask cluster object for ``spec`` (not for addresses: see :func:`make_client`).

    Batch clusters (slurm, pbs) are only created: no job is submitted until ``cluster.scale``.
    """
    kind = _kind(spec)
    options = dict(options or {})
    if kind == "local":
        from distributed import LocalCluster

        unknown = sorted(set(options) - {"memory_limit", "dashboard_address"})
        if unknown:
            raise ParameterError(f"--cluster-opt: got {unknown[0]!r} for a local cluster; allowed: memory_limit, "
                                 "dashboard_address")
        import tempfile

        return LocalCluster(n_workers=_local_workers(spec), threads_per_worker=1, processes=True,
                            local_directory=os.path.join(tempfile.gettempdir(), "cortex_sim-dask"),
                            dashboard_address=options.get("dashboard_address", ":0"),
                            memory_limit=options.get("memory_limit", "auto"), silence_logs=logging.ERROR)
    if kind in ("slurm", "pbs"):
        try:
            import dask_jobqueue
        except ImportError:
            raise ParameterError(f"cluster: got {spec!r}, which needs dask-jobqueue; allowed: local, local:N or an "
                                 "address (or pip install 'cortex_sim[cluster]')") from None
        options.pop("jobs", None)
        for k in options:
            check_choice(f"--cluster-opt for {spec}", k, [*_JOBQUEUE_OPTIONS, "jobs"])
        for need in ("cores", "memory"):
            if need not in options:
                raise ParameterError(f"--cluster-opt: {spec} needs {need} (e.g. --cluster-opt {need}="
                                     f"{'4' if need == 'cores' else '8GB'}); allowed: a value in the YAML file or "
                                     f"--cluster-opt {need}=VALUE")
        options.setdefault("processes", int(options["cores"]))   # single-threaded workers
        import sys

        options.setdefault("python", sys.executable)
        cls = dask_jobqueue.SLURMCluster if kind == "slurm" else dask_jobqueue.PBSCluster
        return cls(**options)
    raise ParameterError(f"cluster: got {spec!r}; make_cluster takes local, local:N, slurm or pbs")


def make_client(spec="local", options=None, *, report=None):
    """A ``dask.distributed.Client`` for ``spec``; the cluster it made (if any) is closed with
    :func:`close_cluster`. An unreachable address fails within :data:`CONNECT_TIMEOUT_S`."""
    from distributed import Client

    kind = _kind(spec)
    options = dict(options or {})
    if kind == "address":
        if options:
            raise ParameterError(f"--cluster-opt: got {sorted(options)[0]!r} with the scheduler address {spec}; "
                                 "allowed: none (the scheduler's workers are already configured)")
        try:
            return Client(spec, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as exc:
            raise ParameterError(f"cluster: could not reach a Dask scheduler at {spec} within {CONNECT_TIMEOUT_S} s "
                                 f"({type(exc).__name__}); allowed: the address of a running scheduler "
                                 "(dask scheduler), or local") from None
    if kind == "serial":
        raise ParameterError("cluster: 'serial' runs in this process and has no client")
    jobs = options.get("jobs", 1)
    cluster = make_cluster(spec, options)
    if kind in ("slurm", "pbs"):
        cluster.scale(jobs=int(jobs))
    client = Client(cluster)
    client._cortex_sim_own_cluster = cluster
    return client


def close_cluster(client):
    """Close ``client`` and the cluster :func:`make_client` made for it (its workers stop)."""
    cluster = getattr(client, "_cortex_sim_own_cluster", None)
    try:
        client.close(timeout=10)
    finally:
        if cluster is not None:
            cluster.close(timeout=10)
