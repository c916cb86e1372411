"""cortex-sim learn: representation learning (rate, spiking, Diehl & Cook) with layer-wise readouts."""

from __future__ import annotations

import logging
import os

from ..errors import CortexSimError
from ._options import OUT_ROOT, _add, _floats, _print_json

def register(sub):
    """Add this command group to the top-level subparsers ``sub``."""
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
    learn.set_defaults(run=_cmd_learn)


def _cmd_learn(args):
    from pathlib import Path

    from .._files import owned_folder
    from ..errors import RunInterrupted
    from ..learning.study import check_study, run_study

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

    from .._files import owned_folder
    from ..errors import RunInterrupted
    from ..learning.diehl_cook import DiehlCookConfig
    from ..learning.diehl_cook.study import plot_curve, plot_fields, run_diehl_cook_study
    from ..learning.results import seed_list

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
        from ..learning.diehl_cook.study import diehl_cook_table

        print(diehl_cook_table(study))
        print(f"results: {args.out}/results.json, table: {args.out}/diehl_cook.md")
    if not args.no_figure:
        import numpy as np

        from ..plotting import save_figure

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
        from ..learning.results import markdown_table

        print(markdown_table(res))
        print(f"results: {args.out}/results.json, table: {args.out}/readout.md")
    if not args.no_figure:
        from ..plotting import plot_readout, save_figure

        figures = args.figures or args.out
        paths = [save_figure(plot_readout(res.results),
                             os.path.join(figures, f"{'spiking_readout' if spiking else 'readout'}.png"))]
        first = next((r["rule"] for r in res.results if r["rule"] in ("spiking-clapp", "spiking-clopath", "stdp-wta")),
                     None)
        if spiking and first:
            from ..learning.results import seed_list
            from ..learning.study import receptive_field_figure

            paths.append(save_figure(receptive_field_figure(args.out, args.dataset, first, seed=seed_list(seeds)[0]),
                                     os.path.join(figures, "spiking_receptive_fields.png")))
        if not args.json:
            print("figures: " + ", ".join(map(str, paths)))


def _kept_checkpoints(out):
    """What an interrupted study leaves: the checkpoint and readout files that exist, or nothing."""
    from pathlib import Path

    out = Path(out)
    files = sorted(out.glob("checkpoints/*.npz")) + sorted(out.glob("readouts/*.json"))
    if not files:
        return "nothing kept (interrupted before the first checkpoint); the same command starts again"
    names = ", ".join(str(f.relative_to(out)) for f in files[:4]) + (f" and {len(files) - 4} more" if len(files) > 4 else "")
    return f"kept in {out}: {names}; the same command with --resume continues from them"
