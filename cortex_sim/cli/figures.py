"""cortex-sim figures and cortex-sim notebooks: the figures from stored results and simulations, the notebooks."""

from __future__ import annotations

import json
import logging
import os

from ..errors import CortexSimError, JobFailedError, check_choice, check_int
from ._options import _add, _out, _print_json, _repo_path, _stored

def register(sub):
    """Add this command group to the top-level subparsers ``sub``."""
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
    figs.set_defaults(run=_cmd_figures)
    nb.set_defaults(run=_cmd_notebooks)


def _figure_jobs():
    """name -> function returning a figure; the README's figures, all of them."""
    from .. import plotting

    def sim(name):
        def make():
            from ..protocols.bac import run_bac
            from ..protocols.clamp import run_clamp
            from ..protocols.frequency import run_frequency, run_window
            from ..protocols.pairing import run_pairing

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
        from ..learning.study import receptive_field_figure

        return receptive_field_figure(_stored("spiking_mnist5k"), "mnist5k", "spiking-clapp")

    def scaling():
        return plotting.plot_scaling(json.loads((_stored("scaling.json")).read_text()))

    def diehl_cook(what):
        def make():
            import numpy as np

            from ..learning.diehl_cook.study import DiehlCookStudy, plot_curve, plot_fields

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
    from .. import plotting

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

    from .._files import atomic_path

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
