"""cortex-sim neuron: single-neuron demos (BAC firing)."""

from __future__ import annotations

from ._options import _Parser, _add, _common, _emit, _ms

def register(sub):
    """Add this command group to the top-level subparsers ``sub``."""
    neuron = sub.add_parser("neuron", help="single-neuron demos")
    nsub = neuron.add_subparsers(dest="command", required=True, parser_class=_Parser)
    bac = _add(nsub, "bac", "BAC firing: soma only / apical only / paired")
    _common(bac, "bac")
    bac.add_argument("--apical-delay", type=float, default=0.0, help="apical onset after somatic onset (ms)")
    bac.add_argument("--soma-amp", type=float, default=1.9, help="somatic pulse (nA, 5 ms)")
    bac.add_argument("--apical-amp", type=float, default=1.0, help="apical pulse (nA, 5 ms)")
    bac.set_defaults(run=_cmd_bac)


def _cmd_bac(args):
    from brian2 import nA

    from ..protocols.bac import run_bac

    res = run_bac(apical_delay=_ms(args.apical_delay), soma_amp=args.soma_amp * nA,
                  apical_amp=args.apical_amp * nA, dt=_ms(args.dt), device=args.device)
    _emit(args, res.to_dict(), res, "bac", lambda: [
        f"{cond:12s} {d['n_spikes']} spike(s), plateau {d['plateau_ms']:.1f} ms"
        for cond, d in res.to_dict().items()])
