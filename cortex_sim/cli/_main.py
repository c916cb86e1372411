"""The cortex-sim entry point: the parser built from the command groups' declarations, and main()."""

from __future__ import annotations

import logging
import os
import signal
import sys

from .. import __version__
from ..errors import CortexSimError, JobFailedError
from . import bench, cache, figures, learn, neuron, pairing, plasticity, sweep
from ._options import _Parser, _attach_negative_values, _did_you_mean, _option_strings, _verbosity, remember_parser

#: the command groups in the order of ``cortex-sim --help``; each declares its own parser and command
GROUPS = (neuron, pairing, plasticity, figures, sweep, learn, bench, cache)


def build_parser():
    parser = _Parser(prog="cortex-sim", description="Two-compartment neurons, Clopath plasticity and "
                     "broadcast-gated learning on Brian2.")
    parser.add_argument("--version", action="version", version=f"cortex-sim {__version__}")
    _verbosity(parser, top=True)
    sub = parser.add_subparsers(dest="group", required=True, parser_class=_Parser)
    for group in GROUPS:
        group.register(sub)
    remember_parser(parser)
    return parser


def _setup_logging(args):
    """Progress on stderr through the ``cortex_sim`` logger: INFO by default, -q warnings only,
    -v DEBUG (and Brian2's INFO messages)."""
    from brian2 import BrianLogger

    quiet, verbose = getattr(args, "quiet", False), getattr(args, "verbose", 0) or 0
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logger = logging.getLogger("cortex_sim")
    logger.handlers[:] = []
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[cortex-sim] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    if verbose:
        BrianLogger.log_level_info()
    else:
        BrianLogger.log_level_warn()


def _check_outputs(args):
    """Every output path is checked before any work (exit 2 with one line if it cannot be written)."""
    from .._files import check_writable_dir

    if getattr(args, "out", None) is not None and not (getattr(args, "no_figure", False) and args.group != "learn"):
        check_writable_dir(args.out, "--out")
    if getattr(args, "figures", None) is not None and not args.no_figure:
        check_writable_dir(args.figures, "--figures")
    if args.group == "sweep" and args.store is not None:
        check_writable_dir(args.store, "--store")


def _interrupt(signum, frame):  # Ctrl-C and SIGTERM: stop at once (Brian2's own handler would
    raise KeyboardInterrupt        # first ask the run to stop and log a warning)


def main(argv=None):
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args, extra = parser.parse_known_args(_attach_negative_values(argv, _option_strings(parser, values_only=True)))
        if extra:   # named by the subcommand that was given, with a suggestion for each typo
            prog = " ".join(x for x in ("cortex-sim", args.group, getattr(args, "command", None)) if x)
            sys.stderr.write(f"cortex-sim: error: unrecognized arguments: {' '.join(extra)}"
                             f"{_did_you_mean(extra, _option_strings(parser))} (see '{prog} --help')\n")
            return 2
    except SystemExit as exc:  # --help, --version (0) or a usage error (2, one line already printed)
        return exc.code

    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display needed
        _setup_logging(args)  # imports brian2, which installs its SIGINT handler: replace it
        signal.signal(signal.SIGINT, _interrupt)
        dt_ms = getattr(args, "dt", 1.0)
        if not 0 < dt_ms <= 10:
            raise CortexSimError(f"--dt: got {dt_ms}; allowed: 0 < dt <= 10 ms")
        _check_outputs(args)
        args.run(args)
    except CortexSimError as exc:   # bad input: exit 2; a job that failed on valid input: exit 1
        sys.stderr.write(f"cortex-sim: error: {exc}\n".replace("\n", " ").rstrip() + "\n")
        return 1 if isinstance(exc, JobFailedError) else 2
    except BrokenPipeError:   # output piped into a reader that stopped (| head): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt as exc:
        kept = getattr(exc, "kept", "") or "nothing written"
        sys.stderr.write(f"cortex-sim: interrupted: {kept}\n")
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
