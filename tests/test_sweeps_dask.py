"""Sweeps on Dask: a real LocalCluster of 2 worker processes gives the serial records,
survives a killed worker, resumes an interrupted client, compiles a project once for two workers,
and every bad input is one line with exit status 2."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cortex_sim.sweeps import Job, Param, close_cluster, make_client, make_cluster, read_store, run_sweep

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "cortex_sim.cli"]
GRID = {"apical_delay": [0.0, 2.5, 5.0, 7.5, 10.0, 15.0], "apical_amp": [1.0, 1.2]}   # 12 points
OPTIONS = {"trial_interval_s": 1.0}
PHYSICS = ("spike_alone_epsp_ratio", "paired_epsp_ratio", "apical_alone_epsp_ratio",
           "unpaired_pathway_epsp_ratio", "paired_spikes_per_trial")


def _physics(records):
    return [{k: r[k] for k in PHYSICS} for r in records]


def _same(a, b, rel=1e-12):
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        for k in PHYSICS:
            assert ra[k] == pytest.approx(rb[k], rel=rel, abs=0), k


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The grid run point after point in this process, without Dask: the reference."""
    return run_sweep("pairing", GRID, OPTIONS, cluster="serial", store=tmp_path_factory.mktemp("serial"), figure=False)


@pytest.fixture(scope="module")
def client():
    c = make_client("local:2")
    yield c
    close_cluster(c)


@pytest.mark.standalone
@pytest.mark.slow
def test_dask_sweep_equals_serial_and_gathers_a_dataset(serial, client, tmp_path):
    import xarray as xr

    res = run_sweep("pairing", GRID, OPTIONS, client=client, store=tmp_path)
    assert (res.points, res.ran, res.skipped, res.failed) == (12, 12, 0, 0)
    _same(res.records, serial.records)                        # to 1e-12
    assert len({r["pid"] for r in read_store(tmp_path).values()}) == 2   # both workers ran points
    ds = xr.open_dataset(res.dataset_path)
    assert ds["paired_epsp_ratio"].dims == ("apical_delay", "apical_amp") and ds["apical_delay"].attrs["units"] == "ms"
    assert float(ds["paired_epsp_ratio"].sel(apical_delay=10.0, apical_amp=1.2)) == pytest.approx(
        res.records[9]["paired_epsp_ratio"], rel=1e-12)
    # the coincidence window as published (Grewe lab): paired at 0 ms potentiates, at 15 ms it does not
    assert float(ds["paired_epsp_ratio"].sel(apical_delay=0.0, apical_amp=1.0)) > 1.15
    assert float(ds["paired_epsp_ratio"].sel(apical_delay=15.0, apical_amp=1.0)) < 1.05
    assert Path(res.figure_path).stat().st_size > 10_000
    # the same sweep again: nothing runs
    again = run_sweep("pairing", GRID, OPTIONS, client=client, store=tmp_path, figure=False)
    assert (again.ran, again.skipped) == (0, 12) and again.records == res.records


@pytest.mark.standalone
@pytest.mark.slow
def test_a_killed_worker_has_its_points_rerun_and_stored_once(serial, client, tmp_path):
    pids = client.run(os.getpid)                               # worker address -> pid
    killed = {}

    def kill_a_busy_worker(_record):
        if killed:
            return
        busy = [addr for addr, keys in client.processing().items() if keys and addr in pids]
        if busy:
            killed["pid"] = pids[busy[0]]
            killed["points"] = list(client.processing()[busy[0]])
            os.kill(killed["pid"], signal.SIGKILL)

    res = run_sweep("pairing", GRID, OPTIONS, client=client, store=tmp_path, figure=False,
                    on_record=kill_a_busy_worker)
    assert killed, "no worker was busy when the first record arrived"
    assert (res.ran, res.failed) == (12, 0)
    files = list((tmp_path / "points").glob("*.json"))
    assert len(files) == 12 and len(read_store(tmp_path)) == 12          # each point exactly once
    _same(res.records, serial.records)
    # the points the killed worker was running were finished by another process
    stored = {rec["key"]: rec["pid"] for rec in (json.loads(f.read_text()) for f in files)}
    lost = [k.split("-", 2)[2] for k in killed["points"]]           # dask key: cortex_sim-<job>-<point key>
    assert lost and all(stored[k] != killed["pid"] for k in lost), (lost, stored, killed)


def _store_count(store):
    d = Path(store) / "points"
    return len(list(d.glob("*.json"))) if d.is_dir() else 0


@pytest.mark.standalone
@pytest.mark.slow
def test_interrupted_client_resumes_only_the_missing_points(serial, tmp_path):
    store = tmp_path / "store"
    params = [f"--param=apical_delay={','.join(str(v) for v in GRID['apical_delay'])}",
              f"--param=apical_amp={','.join(str(v) for v in GRID['apical_amp'])}"]
    cmd = [*CLI, "sweep", "pairing", *params, "--trial-interval", "1", "--cluster", "local:2",
           "--store", str(store), "--json", "--no-figure"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.time() + 900     # a loaded machine compiles and runs the first points slowly
    while _store_count(store) < 2 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert err.strip().splitlines()[-1].startswith("cortex-sim: interrupted: the finished points are in")
    kept = _store_count(store)
    assert 1 <= kept < 12           # interrupted part-way (2 points asked for; at least 1 by the deadline)
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    out = json.loads(again.stdout)
    assert (out["points"], out["ran"], out["skipped"], out["failed"]) == (12, 12 - kept, kept, 0)
    assert out["store"] == str(store) and out["dataset"] == str(store / "dataset.nc")
    _same(out["rows"], serial.records)
    assert _store_count(store) == 12


@pytest.mark.standalone
@pytest.mark.slow
def test_two_workers_compile_a_new_project_once(tmp_path, monkeypatch):
    from cortex_sim.devices import cache_root, compile_count

    monkeypatch.setenv("CORTEX_SIM_CACHE", str(tmp_path / "cache"))   # an empty cache, inherited by the workers
    c = make_client("local:2")
    try:
        res = run_sweep("pairing", {"apical_delay": [0.0, 5.0]}, {"trial_interval_s": 1.0, "dt_ms": 0.2},
                        client=c, store=tmp_path / "store", figure=False)
        pids = {r["pid"] for r in read_store(tmp_path / "store").values()}
    finally:
        close_cluster(c)
    assert (res.ran, res.failed) == (2, 0)
    assert len(pids) == 2                                      # each worker asked for the project
    projects = list((cache_root() / "cpp").glob("pairing-*"))
    assert len(projects) == 1 and compile_count(projects[0]) == 1
    assert res.records[0]["paired_epsp_ratio"] > 1.1 > res.records[1]["paired_epsp_ratio"]


# -- failures and the engine without simulations ----------------------------------------------------

def _toy_prepare(options):
    return dict(options), dict(options)


def _toy_point(point, options, workdir):
    if point["x"] == 2:
        raise ValueError("x = 2 is not allowed by this toy job")
    return {"y": point["x"] ** 2 + options.get("offset", 0)}


TOY = Job("toy", (Param("x"),), _toy_prepare, _toy_point, plot="y")


@pytest.mark.codegen_independent
def test_a_failing_point_is_recorded_and_the_others_finish(client, tmp_path):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])   # the toy job travels to the workers
    res = run_sweep(TOY, {"x": [0, 1, 2, 3]}, {}, client=client, store=tmp_path)
    assert (res.ran, res.failed) == (3, 1)
    assert [r and r["y"] for r in res.records] == [0.0, 1.0, None, 9.0]
    (failed,) = (tmp_path / "failed").glob("*.json")
    assert "x = 2 is not allowed" in json.loads(failed.read_text())["error"]
    assert res.dataset["y"].values[2] != res.dataset["y"].values[2]          # NaN where it failed
    again = run_sweep(TOY, {"x": [0, 1, 2, 3]}, {}, client=client, store=tmp_path)
    assert (again.ran, again.skipped, again.failed) == (0, 3, 1)             # only the failed point ran again
    with pytest.raises(Exception, match="store.*another sweep: fields.offset"):
        run_sweep(TOY, {"x": [0, 1]}, {"offset": 1}, cluster="serial", store=tmp_path)


@pytest.mark.codegen_independent
def test_slurm_job_script_holds_the_request_and_submits_nothing():
    cluster = make_cluster("slurm", {"cores": 4, "memory": "8GB", "walltime": "02:30:00", "queue": "short"})
    try:
        script = cluster.job_script()
        assert len(cluster.workers) == 0                       # nothing submitted
    finally:
        cluster.close()
    assert "#SBATCH --cpus-per-task=4" in script and "#SBATCH --mem=8G" in script
    assert "#SBATCH -t 02:30:00" in script and "#SBATCH -p short" in script
    assert "distributed.cli.dask_worker" in script and "--nworkers 4" in script and "--nthreads 1" in script
    assert sys.executable in script
    proc = subprocess.run([*CLI, "sweep", "pairing", "--param", "apical_delay=0,5", "--cluster", "slurm",
                           "--cluster-opt", "cores=2", "--cluster-opt", "memory=4GB", "--cluster-opt",
                           "walltime=00:10:00", "--print-job-script"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "#SBATCH --cpus-per-task=2" in proc.stdout and "#SBATCH -t 00:10:00" in proc.stdout


def test_store_of_another_sweep_is_refused(serial, tmp_path):
    with pytest.raises(Exception, match=r"store: .* holds another sweep: .*fields.config.trial_interval_ms "
                                        r"\(1000.0 in the store, 2000.0 now\)"):
        run_sweep("pairing", GRID, {"trial_interval_s": 2.0}, cluster="serial", store=serial.store)
    with pytest.raises(Exception, match=r"holds another sweep: job \('pairing' in the store, 'toy' now\)"):
        run_sweep(TOY, {"x": [0]}, {}, cluster="serial", store=serial.store)


@pytest.mark.parametrize("args, names", [
    (["--param", "apical_delay=0,5", "--cluster", "kube"], ["cluster", "'kube'", "local:N"]),
    (["--param", "apical_delay=0,5", "--cluster", "local:0"], ["cluster", "local:0", "N a whole number"]),
    (["--param", "apical_delay=0,5", "--cluster", "tcp://127.0.0.1:9"], ["could not reach", "tcp://127.0.0.1:9"]),
    (["--param", "theta=0,5"], ["sweep parameter of pairing", "'theta'", "apical_delay"]),
    (["--param", "apical_delay="], ["apical_delay", "no values"]),
    (["--param", "apical_delay=0,x"], ["apical_delay", "'x'", "numbers"]),
    (["--param", "apical_delay=0,0"], ["apical_delay", "repeats"]),
    ([], ["--param", "got none"]),
    (["--param", "apical_delay=0", "--option", "tau=3"], ["option of pairing", "'tau'", "trial_interval_s"]),
    (["--param", "apical_delay=0", "--cluster", "slurm"], ["--cluster-opt", "cores"]),
    (["--param", "apical_delay=0", "--print-job-script"], ["--print-job-script", "slurm"]),
    (["--param", "apical_delay=0", "--store", "/proc/x"], ["--store", "/proc/x"]),
])
def test_bad_sweep_input_is_one_line_and_exit_2(args, names, tmp_path):
    t0 = time.perf_counter()
    proc = subprocess.run([*CLI, "sweep", "pairing", "--store", str(tmp_path / "s"), *args], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cortex-sim: error:"), proc.stderr
    for n in names:
        assert n in lines[0]
    assert time.perf_counter() - t0 < 30                      # refused before any simulation, never a hang
    assert not (tmp_path / "dask-scratch-space").exists()


def test_store_of_another_sweep_is_one_line_exit_2(tmp_path):
    store = tmp_path / "s"
    run_sweep(TOY, {"x": [0]}, {}, cluster="serial", store=store, figure=False)
    proc = subprocess.run([*CLI, "sweep", "pairing", "--param", "apical_delay=0", "--store", str(store)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "holds another sweep" in proc.stderr and "--force" in proc.stderr


# -- the other jobs ---------------------------------------------------------------------------------

@pytest.mark.standalone
@pytest.mark.slow
def test_window_and_frequency_jobs_equal_the_protocol_runs(client, tmp_path):
    """One condition per point, in the workers' own run folders: the same weights as the
    protocol run with all conditions side by side (each condition is a neuron of its own)."""
    from cortex_sim.protocols.frequency import run_frequency, run_window

    win = run_sweep("window", {"delta_t_ms": [-10.0, 10.0]}, {"n_groups": 2}, client=client, store=tmp_path / "w",
                    figure=False)
    ref = run_window(delta_ts=(-10.0, 10.0), n_groups=2)
    assert win.failed == 0
    for rec, row in zip(win.records, ref.rows):
        assert rec["w_ratio"] == pytest.approx(row["w_ratio"], rel=1e-9)
    assert win.records[0]["w_ratio"] < 1 < win.records[1]["w_ratio"]       # post-pre LTD, pre-post LTP at 20 Hz
    freq = run_sweep("frequency", {"rate_hz": [10.0, 50.0], "delta_t_ms": [10.0]}, {"n_groups": 2}, client=client,
                     store=tmp_path / "f", figure=False)
    ref = run_frequency(rates=(10.0, 50.0), delta_ts=(10.0,), n_groups=2)
    assert [r["w_ratio"] for r in freq.records] == pytest.approx([r["w_ratio"] for r in ref.rows], rel=1e-9)
    assert freq.dataset["w_ratio"].dims == ("rate_hz", "delta_t_ms")
    with pytest.raises(Exception, match=r"delta_t_ms: got 20.0 at 40.0 Hz"):      # refused before any work
        run_sweep("frequency", {"rate_hz": [40.0], "delta_t_ms": [20.0]}, {"n_groups": 2}, client=client)


@pytest.mark.standalone
def test_bench_and_learn_jobs_give_the_records_of_their_commands(client, tmp_path):
    from cortex_sim.bench import bench_clopath
    from cortex_sim.learning.study import run_study

    bench = run_sweep("bench", {"neurons": [10, 20]}, {"inputs": 5, "duration_s": 0.05}, cluster="serial",
                      store=tmp_path / "b", figure=False)
    direct = bench_clopath(neurons=20, inputs=5, duration_s=0.05)
    assert bench.failed == 0 and bench.records[1]["mean_weight"] == pytest.approx(direct["mean_weight"], rel=1e-12)
    assert all(r["run_s"] > 0 for r in bench.records)
    with pytest.raises(Exception, match="neurons x inputs"):
        run_sweep("bench", {"neurons": [0]}, {}, cluster="serial")
    learn = run_sweep("learn", {"rule": ["random", "clapp"], "seed": [0]},
                      {"dataset": "digits", "epochs": 1, "max_train_images": 64}, client=client,
                      store=tmp_path / "l", figure=False)
    assert learn.failed == 0 and learn.dataset["best_accuracy"].dims == ("rule", "seed")
    ref = run_study("random", "digits", [0], 1, tmp_path / "ref", progress=False, max_train_images=64,
                    references=False)
    acc = [layer["accuracy_mean"] for layer in ref.results[0]["layers"]]
    assert learn.records[0]["best_accuracy"] == pytest.approx(max(acc[1:]), rel=1e-12)
    assert (tmp_path / "l" / "runs").is_dir()                 # each point's checkpoints and readouts


@pytest.mark.codegen_independent
def test_the_store_dataset_holds_every_stored_point(tmp_path):
    """A second grid into a store (before: dataset.nc and sweep.png held only the
    last grid's point, the earlier records stayed in points/ unseen)."""
    import xarray as xr

    first = run_sweep(TOY, {"x": [5, 1, 3]}, {}, cluster="serial", store=tmp_path)
    assert first.store_points == 3
    second = run_sweep(TOY, {"x": [4]}, {}, cluster="serial", store=tmp_path)
    assert (second.ran, second.points, second.store_points) == (1, 1, 4)
    assert list(second.dataset["x"].values) == [4]                       # the returned grid: this one
    with xr.open_dataset(tmp_path / "dataset.nc") as ds:
        assert list(ds["x"].values) == [1, 3, 4, 5]                       # the store: every point, sorted
        assert list(ds["y"].values) == [1.0, 9.0, 16.0, 25.0]
    assert (tmp_path / "sweep.png").exists()


def test_a_sweeps_figure_names_its_fields_in_words():
    """The sweep figure's axis is 'EPSP after / before ...', not the field name
    paired_epsp_ratio; the dataset carries the words as long_name."""
    import matplotlib

    matplotlib.use("Agg")
    from cortex_sim.sweeps.engine import to_dataset
    from cortex_sim.sweeps.jobs import JOBS
    from cortex_sim.sweeps.plots import plot_sweep

    points = [{"apical_delay": d} for d in (0.0, 10.0)]
    records = [{"paired_epsp_ratio": 1.2, "spike_alone_epsp_ratio": 1.0}, {"paired_epsp_ratio": 1.1,
                                                                         "spike_alone_epsp_ratio": 1.0}]
    ds = to_dataset(JOBS["pairing"], ["apical_delay"], points, records)
    assert ds["paired_epsp_ratio"].attrs["long_name"].startswith("s1 EPSP after / before")
    fig = plot_sweep(ds, "paired_epsp_ratio")
    ax = fig.axes[0]
    assert "paired" in ax.get_ylabel() and "_" not in ax.get_ylabel()
    assert ax.get_xlabel() == "apical_delay (ms)"
