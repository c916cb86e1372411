"""cortex-sim plasticity: voltage clamp, Sjöström's frequency dependence, the STDP window."""

from __future__ import annotations

from ..errors import CortexSimError, check_int
from ._options import (_Parser, _add, _check_budget, _common, _emit, _floats, _formulation, _ms, _speed,
                       _speed_kwargs, _yes)

def register(sub):
    """Add this command group to the top-level subparsers ``sub``."""
    plast = sub.add_parser("plasticity", help="plasticity protocols")
    psub = plast.add_subparsers(dest="command", required=True, parser_class=_Parser)
    clamp = _add(psub, "clamp", "voltage clamp: dw per presynaptic spike vs clamp voltage")
    _common(clamp, "clamp")
    clamp.add_argument("--params", default="visual", choices=("visual", "somatosensory", "hippocampal", "nest"),
                       help="Clopath rule preset")
    clamp.add_argument("--points", type=int, default=41, help="number of clamp voltages from -80 to 0 mV")
    freq = _add(psub, "frequency", "Sjöström 2001 frequency dependence on the AdEx-Clopath neuron")
    _common(freq, "frequency", device="cpp")
    _yes(freq)
    _formulation(freq)
    _speed(freq)
    freq.add_argument("--rates", default="0.1,10,20,40,50", help="pairing rates (Hz), comma-separated")
    freq.add_argument("--groups", type=int, default=None,
                      help="groups of 5 pairings (default: 15; the authors' schedule: 10 at 0.1 Hz)")
    freq.add_argument("--schedule", default="sjostrom", choices=("sjostrom", "authors"),
                      help="sjostrom: the published protocol; authors: the schedule of Clopath's ModelDB code "
                           "(6 post spikes in post-pre groups, 10 groups at 0.1 Hz, groups every 10 s)")
    freq.add_argument("--neuron", default=None, choices=("clopath2010", "clopath2010-code", "nest"),
                      help="AdEx preset (default: clopath2010; with --schedule authors: clopath2010-code, "
                           "reset -49.5 mV and jumps at the end of the spike as in the authors' code)")
    win = _add(psub, "window", "STDP window: pairs at 20 Hz, delta t from -15 to +15 ms")
    _common(win, "window", device="cpp")
    _yes(win)
    _formulation(win)
    _speed(win)
    win.add_argument("--delta-ts", default=",".join(str(d) for d in range(-15, 16)),
                     help="delta t = t_post - t_pre (ms), comma-separated or start:stop:step, "
                          "e.g. --delta-ts -15:15:5 or --delta-ts -10,-5,5,10")
    win.add_argument("--rate", type=float, default=20.0, help="pairing rate (Hz)")
    win.add_argument("--groups", type=int, default=15, help="groups of 5 pairings")
    clamp.set_defaults(run=_cmd_clamp)
    freq.set_defaults(run=_cmd_frequency)
    win.set_defaults(run=_cmd_window)


def _cmd_frequency(args):
    from ..protocols.frequency import pairing_times, rms_vs_data, run_frequency

    rates = _floats("--rates", args.rates)
    for r in rates:
        if not 0 < r <= 1000:
            raise CortexSimError(f"--rates: got {r:g} Hz; allowed: 0 < rate <= 1000 Hz")
    if args.groups is not None and not 1 <= args.groups <= 10000:
        raise CortexSimError(f"--groups: got {args.groups}; allowed: 1 to 10000")
    longest = max(float(pairing_times(r, 10.0, schedule=args.schedule, n_groups=args.groups)[1].max()) for r in rates)
    _check_budget(args, 2 * len(rates), longest, "--rates/--groups")
    neuron = args.neuron or ("clopath2010-code" if args.schedule == "authors" else "clopath2010")
    res = run_frequency(rates=rates, n_groups=args.groups, dt=_ms(args.dt),
                        device=args.device, report="stderr", schedule=args.schedule, neuron=neuron,
                        formulation=args.formulation, **_speed_kwargs(args))
    out = res.to_dict()
    out["neuron"] = neuron
    out["rms_vs_data"] = rms_vs_data(res.rows)
    _emit(args, out, res, "frequency", lambda: [
        f"rate {r['rate_hz']:5g} Hz  delta t {r['delta_t_ms']:+5g} ms  w/w0 = {r['w_ratio']:.3f}"
        for r in out["rows"]] + [f"RMS vs Sjöström 2001: {out['rms_vs_data']:.3f}"])


def _cmd_window(args):
    from ..protocols.frequency import pairing_times, run_window

    deltas = _floats("--delta-ts", args.delta_ts)
    if not 0 < args.rate <= 1000:
        raise CortexSimError(f"--rate: got {args.rate:g} Hz; allowed: 0 < rate <= 1000 Hz")
    check_int("--groups", args.groups, low=1, high=10000)
    _check_budget(args, len(deltas), float(pairing_times(args.rate, 10.0, n_groups=args.groups)[1].max()),
                  "--rate/--groups")
    res = run_window(delta_ts=deltas, rate=args.rate, n_groups=args.groups,
                     dt=_ms(args.dt), device=args.device, report="stderr", formulation=args.formulation,
                     **_speed_kwargs(args))
    _emit(args, res.to_dict(), res, "window", lambda: [
        f"delta t {r['delta_t_ms']:+5g} ms  w/w0 = {r['w_ratio']:.3f}" for r in res.rows])


def _cmd_clamp(args):
    from brian2 import mV

    from ..protocols.clamp import run_clamp

    check_int("--points", args.points, low=2, high=10000)
    res = run_clamp(args.params, n_points=args.points, u_min=-80 * mV, u_max=0 * mV, dt=_ms(args.dt),
                    device=args.device)
    out = res.to_dict()

    def lines():
        p = out["params"]
        yield (f"Clopath preset {args.params}: theta_minus {p['theta_minus_mV']} mV, theta_plus "
               f"{p['theta_plus_mV']} mV; net LTP above {res.params.ltp_threshold_voltage}")
        for row in out["rows"]:
            yield f"  u = {row['u_clamp_mV']:7.2f} mV   dw per presynaptic spike = {row['dw_per_spike']:+.6f} (weight units; the weight starts at 0)"

    _emit(args, out, res, "clamp", lines)
