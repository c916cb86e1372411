"""cortex-sim pairing: the Grewe pairing experiment (the main job)."""

from __future__ import annotations

import os

from ._options import (_add, _check_budget, _common, _floats, _formulation, _ms, _print_json, _speed,
                       _speed_kwargs, _yes)

def register(sub):
    """Add this command group to the top-level subparsers ``sub``."""
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
    pairing.set_defaults(run=_cmd_pairing)


def _cmd_pairing(args):
    from brian2 import mV, second

    from ..params import preset
    from ..protocols.pairing import PairingConfig, block_schedule, run_pairing

    cfg = PairingConfig(apical_delay=_ms(args.apical_delay), n_pairings=args.n_pairings,
                        trial_interval=args.trial_interval * second,
                        dt=_ms(args.dt), window_delays=_floats("--window", args.window),
                        pairing_counts=_floats("--counts", args.counts, int)).check()
    _check_budget(args, 2 + len(cfg.window_delays) + len(cfg.pairing_counts), block_schedule(cfg)[1],
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
        from ..plotting import plot_pairing, save_figure

        fig_path = save_figure(plot_pairing(res), os.path.join(args.out, "pairing.png"))
        if not args.json:
            print(f"figure: {fig_path}")
