"""Helpers shared by the benchmark scripts: machine label, network arguments, RESULTS.md rows."""

import datetime
import os
import platform

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")


def machine():
    """'host (N cores, arch)' for the tables."""
    return f"{platform.node() or 'host'} ({os.cpu_count()} cores, {platform.machine()})"


def today():
    return str(datetime.date.today())


def network_args(parser):
    """The arguments of the benchmark network (defaults: the 1000 x 200 network at 10 Hz, 500 pA)."""
    parser.add_argument("--neurons", type=int, default=1000)
    parser.add_argument("--inputs", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=1.0)
    parser.add_argument("--drive", type=float, default=500.0)
    return parser


def record(line):
    """Print a table row and append it to benchmarks/RESULTS.md."""
    print(line)
    with open(RESULTS, "a") as f:
        f.write(line + "\n")
