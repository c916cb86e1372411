"""The ``cortex-sim`` command. Every command has ``--json``; bad input: one line on stderr, exit 2."""

from __future__ import annotations

import argparse
import json
import sys

from . import __version__
from .errors import CortexSimError

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        sys.stderr.write(f"cortex-sim: error: {message} (see 'cortex-sim --help')\n")
        sys.exit(2)


def _ms(x):
    from brian2 import ms

    return float(x) * ms


def _common(p, device=True):
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.add_argument("--figures", default="figures", metavar="DIR", help="folder for figures (default: figures)")
    p.add_argument("--no-figure", action="store_true", help="do not write the figure")
    if device:
        p.add_argument("--device", default="runtime", help="runtime | cpp | cuda (default: runtime)")
        p.add_argument("--dt", type=float, default=0.1, help="time step in ms (default 0.1)")


def build_parser():
    parser = _Parser(prog="cortex-sim", description="Two-compartment neurons, Clopath plasticity and "
                     "broadcast-gated learning on Brian2.")
    parser.add_argument("--version", action="version", version=f"cortex-sim {__version__}")
    sub = parser.add_subparsers(dest="group", required=True, parser_class=_Parser)

    neuron = sub.add_parser("neuron", help="single-neuron demos")
    nsub = neuron.add_subparsers(dest="command", required=True, parser_class=_Parser)
    bac = nsub.add_parser("bac", help="BAC firing: soma only / apical only / paired")
    _common(bac)
    bac.add_argument("--apical-delay", type=float, default=0.0, help="apical onset after somatic onset (ms)")
    bac.add_argument("--soma-amp", type=float, default=1.9, help="somatic pulse (nA, 5 ms)")
    bac.add_argument("--apical-amp", type=float, default=1.0, help="apical pulse (nA, 5 ms)")

    plast = sub.add_parser("plasticity", help="plasticity protocols")
    psub = plast.add_subparsers(dest="command", required=True, parser_class=_Parser)
    clamp = psub.add_parser("clamp", help="voltage clamp: dw per presynaptic spike vs clamp voltage")
    _common(clamp)
    clamp.add_argument("--params", default="visual", help="visual | somatosensory | hippocampal | nest")
    clamp.add_argument("--points", type=int, default=41, help="number of clamp voltages from -80 to 0 mV")
    return parser


def _cmd_bac(args):
    from brian2 import nA

    from .protocols.bac import run_bac

    res = run_bac(apical_delay=_ms(args.apical_delay), soma_amp=args.soma_amp * nA,
                  apical_amp=args.apical_amp * nA, dt=_ms(args.dt), device=args.device)
    out = res.to_dict()
    fig_path = None
    if not args.no_figure:
        from .plotting import plot_bac, save_figure

        fig_path = save_figure(plot_bac(res), f"{args.figures}/bac.png")
    if args.json:
        print(json.dumps(out))
    else:
        for cond, d in out.items():
            print(f"{cond:12s} {d['n_spikes']} spike(s), plateau {d['plateau_ms']:.1f} ms")
        if fig_path:
            print(f"figure: {fig_path}")


def _cmd_clamp(args):
    from brian2 import mV

    from .protocols.clamp import run_clamp

    res = run_clamp(args.params, n_points=args.points, u_min=-80 * mV, u_max=0 * mV, dt=_ms(args.dt),
                    device=args.device)
    out = res.to_dict()
    fig_path = None
    if not args.no_figure:
        from .plotting import plot_clamp, save_figure

        fig_path = save_figure(plot_clamp(res), f"{args.figures}/clamp.png")
    if args.json:
        print(json.dumps(out))
    else:
        p = out["params"]
        print(f"Clopath preset {args.params}: theta_minus {p['theta_minus_mV']} mV, theta_plus "
              f"{p['theta_plus_mV']} mV; net LTP above {res.params.ltp_threshold_voltage}")
        for row in out["rows"]:
            print(f"  u = {row['u_clamp_mV']:7.2f} mV   dw/spike = {row['dw_per_spike']:+.6f}")
        if fig_path:
            print(f"figure: {fig_path}")


COMMANDS = {("neuron", "bac"): _cmd_bac, ("plasticity", "clamp"): _cmd_clamp}


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display needed
        from brian2 import BrianLogger

        BrianLogger.log_level_warn()
        if getattr(args, "dt", 1.0) <= 0 or args.dt != args.dt:
            raise CortexSimError(f"--dt: got {args.dt}; allowed: a positive number of ms")
        COMMANDS[(args.group, args.command)](args)
    except CortexSimError as exc:
        sys.stderr.write(f"cortex-sim: error: {exc}\n".replace("\n", " ").rstrip() + "\n")
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
