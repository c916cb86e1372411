"""Shared option declarations, parsing helpers and the JSON conventions of every command."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .. import __version__
from .._choices import METHODS, PRECISIONS
from ..errors import CortexSimError, check_int

class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)   # no silent prefix matching (--delta-t is not --delta-ts)
        super().__init__(*args, **kwargs)

    def error(self, message):  # one line, exit 2; a bare command prints its help (the commands it has)
        if message.startswith("the following arguments are required: group") or \
                message.startswith("the following arguments are required: command"):
            sys.stderr.write(self.format_help())
            sys.exit(2)
        sys.stderr.write(f"cortex-sim: error: {message} (see '{self.prog} --help')\n")
        sys.exit(2)


def _option_strings(parser, values_only=False):
    """Every option string of the parser and its subcommands (``values_only``: those that take a value)."""
    opts = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                opts |= _option_strings(sub, values_only)
        elif not values_only or action.nargs != 0:
            opts |= set(action.option_strings)
    return opts


def _did_you_mean(tokens, options):
    import difflib

    hints = []
    for tok in tokens:
        name = tok.split("=", 1)[0]
        if name.startswith("--"):
            close = difflib.get_close_matches(name, sorted(options), n=1, cutoff=0.6)
            if close:
                hints.append(f"{name}: did you mean {close[0]}?")
    return ("; " + "; ".join(hints)) if hints else ""


def _ms(x):
    from brian2 import ms

    return float(x) * ms


OUT_ROOT = "cortex_sim_out"


def _out(p, command, help="folder for figures and results (checked before any work)"):
    p.add_argument("--out", "--figures", dest="out", default=os.path.join(OUT_ROOT, command), metavar="DIR",
                   help=help)


def _common(p, command, device="runtime"):
    """--json, --out, --no-figure, and (unless device is None) --device with its real default, --dt."""
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    _out(p, command)
    p.add_argument("--no-figure", action="store_true", help="do not write the figure")
    if device:
        p.add_argument("--device", default=device, choices=("runtime", "cpp", "cuda"), help="Brian2 device")
        p.add_argument("--dt", type=float, default=0.1, help="time step (ms)")


def _yes(p):
    p.add_argument("--yes", action="store_true",
                   help="run even when the estimated wall time exceeds an hour (memory limits always hold)")


def _verbosity(p, top=False):
    kw = {} if top else {"default": argparse.SUPPRESS}
    p.add_argument("-v", "--verbose", action="count", help="more progress detail (Brian2 INFO messages too)",
                   **({"default": 0} if top else kw))
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines, warnings only",
                   **({"default": False} if top else kw))


def _speed(p):
    """--method, --precision, --threads: the CPU core's options (benchmarks/RESULTS.md)."""
    p.add_argument("--method", default="rk4_exact", choices=METHODS,
                   help="neuron integrator: rk4_exact (RK4 with the linear equations solved exactly), rk4; "
                        "rk2 and euler are faster and drift from NEST")
    p.add_argument("--precision", default="double", choices=PRECISIONS,
                   help="mixed: the neuron's exponential in single precision (weights within 2e-7 of double)")
    p.add_argument("--threads", type=int, default=1,
                   help="OpenMP threads of the C++ device (same result for any count; pays for large networks)")


def _formulation(p):
    p.add_argument("--formulation", default="event", choices=("event", "naive", "accumulator"),
                   help="form of the Clopath rule (the three agree to 1e-9; accumulator is the fast one)")


class _Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except None and False (flags, defaults explained in the text)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _add(sub, name, help):
    """A subcommand whose --help shows every option's default (and takes -v/-q there too)."""
    p = sub.add_parser(name, help=help, description=help, formatter_class=_Defaults)
    _verbosity(p)
    return p


#: wall seconds per neuron and simulated second at dt = 0.1 ms (C++ standalone, the pairing
#: experiment: 24.6 s for 15 neurons x 286 s, benchmarks/RESULTS.md); used for the soft time limit
WALL_PER_NEURON_SECOND = 6e-3


SOFT_LIMIT_S = 3600.0


def _check_budget(args, neurons, simulated_s, what):
    """Refuse (exit 2) a run estimated above an hour of wall time unless --yes."""
    estimate = neurons * simulated_s * WALL_PER_NEURON_SECOND * (0.1 / args.dt)
    if estimate > SOFT_LIMIT_S and not args.yes:
        if neurons * simulated_s * WALL_PER_NEURON_SECOND <= SOFT_LIMIT_S:   # the time step makes it long
            raise CortexSimError(
                f"--dt: got {args.dt:g} ms, which makes {simulated_s:.3g} s simulated for {neurons} neurons an "
                f"estimated {estimate / 3600:.1f} h; allowed: up to {SOFT_LIMIT_S / 3600:.0f} h without --yes "
                "(dt is in ms: 0.1 is the default)")
        raise CortexSimError(
            f"{what}: {simulated_s:.3g} s simulated for {neurons} neurons at dt {args.dt:g} ms, an estimated "
            f"{estimate / 3600:.1f} h; allowed: up to {SOFT_LIMIT_S / 3600:.0f} h without --yes")


def _meta(args):
    """What a JSON result carries about how it was made: the command, its parameters and the unit of
    every parameter that has one (from the option's help)."""
    skip = {"json", "group", "command", "verbose", "quiet", "yes", "run"}
    params = {k: v for k, v in sorted(vars(args).items()) if k not in skip}
    cmd = " ".join(x for x in (args.group, getattr(args, "command", None)) if x)
    units = _option_units().get(tuple(cmd.split()), {})
    return {"version": __version__, "command": cmd, "parameters": params,
            "units": {k: u for k, u in units.items() if k in params}}


#: the parser main() built (for the units of the options; set by :func:`remember_parser`)
_PARSER: dict = {}


def remember_parser(parser):
    """Keep the command's parser: :func:`_meta` reads each option's unit from its help."""
    _PARSER["parser"] = parser
    _option_units.__dict__.pop("_units", None)


def _option_units():
    """{(group, command): {dest: unit}} read from the options' help texts, e.g. '(ms)', '(Hz)'."""
    import re

    if "_units" not in _option_units.__dict__:
        rx = re.compile(r"^s between|\((ms|s|Hz|pA|nA|mV)\b")
        found = {}

        def walk(parser, path):
            for a in parser._actions:
                if isinstance(a, argparse._SubParsersAction):
                    for name, sp in a.choices.items():
                        walk(sp, path + (name,))
                elif a.help and a.dest != "help":
                    m = rx.search(a.help)
                    if m:
                        found.setdefault(path, {})[a.dest] = m.group(1) or "s"
        if "parser" in _PARSER:   # main() builds the parser first: always, for a command
            walk(_PARSER["parser"], ())
        _option_units._units = found
    return _option_units._units


def _print_json(args, out):
    print(json.dumps({**out, "cortex_sim": _meta(args)}), flush=True)


def _repo_path(command, *parts):
    """A path in the repository (stored results, notebooks): these commands run from a clone."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2].joinpath(*parts)
    if not path.exists():
        raise CortexSimError(f"{command}: {str(path)!r} is missing; allowed: run from a clone of the repository "
                             "(it is kept in git)")
    return path


def _stored(name):
    """A folder or file of stored study results (results/ at the repository root)."""
    return _repo_path("figures", "results", name)


def _speed_kwargs(args):
    check_int("--threads", args.threads, low=1, high=os.cpu_count() or 1)
    return {"method": args.method, "precision": args.precision, "threads": args.threads}


def _emit(args, out, res, figure, lines):
    """Print the JSON (or the readable lines), then write the figure ``figure``.png."""
    from .. import plotting

    if args.json:
        _print_json(args, out)
    else:
        for line in lines():
            print(line)
    if not args.no_figure:
        fig_path = plotting.save_figure(getattr(plotting, f"plot_{figure}")(res), os.path.join(args.out, f"{figure}.png"))
        if not args.json:
            print(f"figure: {fig_path}")


def _floats(name, text, cast=float):
    """A comma-separated list of numbers as people type it: negative values, and ``start:stop:step``
    ranges (stop included when on the grid), e.g. ``-15:15:5`` or ``-20,-10,0:20:5``."""
    return tuple(cast(v) for v in _list_items(name, text, cast))


def _list_items(name, text, cast=float, numeric=True):
    """The items of a comma-separated list with ranges expanded; ``numeric=False`` keeps items that
    are not numbers or ranges as strings (sweep grids of names)."""
    kind = "integers" if cast is int else "numbers"
    allowed = f"allowed: comma-separated {kind} or start:stop:step ranges, e.g. -10,-5,0,5 or -15:15:5"
    items = [x.strip() for x in str(text).split(",")]
    if not any(items):
        raise CortexSimError(f"{name}: got no values; {allowed}")
    if not all(items):
        raise CortexSimError(f"{name}: got {text!r} (an empty entry); {allowed}")
    out = []
    for item in items:
        if ":" in item:
            if not numeric:   # a grid of strings: an integer range stays integers
                ints = all(p.strip().lstrip("+-").isdigit() for p in item.split(":"))
                out += [str(v) for v in _range(name, item, int if ints else float, allowed)]
            else:
                out += _range(name, item, cast, allowed)
            continue
        try:
            out.append(cast(item))
        except ValueError:
            if numeric:
                raise CortexSimError(f"{name}: got {item!r} in {text!r}; {allowed}") from None
            out.append(item)
        else:
            if not numeric:
                out[-1] = item   # as typed: '10' stays '10' (the sweep types and keys its values)
    return out


def _range(name, item, cast, allowed):
    parts = item.split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        start, stop, step = (cast(p) for p in parts)
    except ValueError:
        raise CortexSimError(f"{name}: got {item!r}; {allowed}") from None
    if step == 0 or (stop - start) * step < 0:
        raise CortexSimError(f"{name}: got the range {item!r}; allowed: a step that is not 0 and goes from start "
                             "towards stop")
    n = int((stop - start) / step + 1e-9) + 1
    if n > 100000:
        raise CortexSimError(f"{name}: got the range {item!r} ({n} values); allowed: at most 100000 values")
    return [cast(round(start + k * step, 12)) for k in range(n)]


def _attach_negative_values(argv, value_options):
    """``--delta-ts -5,5`` -> ``--delta-ts=-5,5``: argparse reads a value that starts with '-' and is not
    a single number as an option; attached with '=' it is the option's value."""
    out, i = [], 0
    while i < len(argv):
        tok = argv[i]
        if tok == "--":
            return out + list(argv[i:])
        if tok in value_options and i + 1 < len(argv) and len(argv[i + 1]) > 1 and argv[i + 1][0] == "-" \
                and (argv[i + 1][1].isdigit() or argv[i + 1][1] == "."):
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out
