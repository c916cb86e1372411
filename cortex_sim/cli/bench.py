"""cortex-sim bench: the Clopath network benchmark."""

from __future__ import annotations

import json
import os

from ._options import OUT_ROOT, SOFT_LIMIT_S, _Parser, _add, _meta, _print_json, _speed, _speed_kwargs, _yes

def register(sub):
    """Add this command group to the top-level subparsers ``sub``."""
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
    bc.set_defaults(run=_cmd_bench)


def _cmd_bench(args):
    from ..bench import bench_clopath

    out = bench_clopath(neurons=args.neurons, inputs=args.inputs, rate_hz=args.rate,
                        duration_s=args.duration, device=args.device,
                        drive_pA=args.drive, formulation=args.formulation, dt_ms=args.dt,
                        compile_only=args.compile_only, compute_capability=args.compute_capability,
                        quick_compile=args.quick_compile, **_speed_kwargs(args),
                        max_wall_s=None if args.yes else SOFT_LIMIT_S, report="stderr")
    from .._files import atomic_path

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
