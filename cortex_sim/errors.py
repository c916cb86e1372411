"""Exceptions and input checks shared by every layer of cortex_sim.

Every check raises at the boundary with a "what / got / allowed" message, so that the CLI can print
one line and exit 2 (see :mod:`cortex_sim.cli`).
"""

from __future__ import annotations

import difflib
import math
from typing import Iterable

__all__ = ["CortexSimError", "ParameterError", "UnknownNameError", "DeviceUnavailableError",
           "SimulationDivergedError", "BuildFailedError", "RunFailedError", "JobFailedError",
           "TrainingDiverged", "RunInterrupted"]


class CortexSimError(Exception):
    """Base class of all errors raised by cortex_sim on bad input or failed runs."""


class ParameterError(CortexSimError, ValueError):
    """A parameter has the wrong value, unit or type."""


class UnknownNameError(ParameterError, KeyError):
    """A preset, device, rule or condition name is not known."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class DeviceUnavailableError(CortexSimError, RuntimeError):
    """A simulation device (C++ compiler, brian2cuda, nvcc, GPU) is missing."""


class SimulationDivergedError(CortexSimError, RuntimeError):
    """A state variable became NaN or ran away during a simulation."""


class JobFailedError(CortexSimError, RuntimeError):
    """A job that was given valid input failed (a notebook cell raised or timed out); the CLI prints
    one line and exits with status 1."""


class BuildFailedError(JobFailedError):
    """A generated C++/CUDA project did not compile (the message ends with the compiler's last lines)."""


class RunFailedError(BuildFailedError):
    """A compiled simulation binary crashed, was killed or exited non-zero, after one rebuild of its
    project (the message names the project and the log with the binary's output)."""


class TrainingDiverged(JobFailedError, FloatingPointError):
    """A training run whose weights became non-finite (the CLI: one line, exit 1; still a
    FloatingPointError for code that catches that)."""


class RunInterrupted(KeyboardInterrupt):
    """A compile or a simulation stopped before its end (Ctrl-C, SIGTERM, a stopped binary).

    A ``KeyboardInterrupt``, so that ``except Exception`` does not swallow it: nothing of an
    interrupted run is ever analysed. ``kept`` says what was kept (e.g. checkpoints), or is empty.
    """

    def __init__(self, message="interrupted", kept=""):
        super().__init__(message)
        self.kept = kept


def check_choice(name: str, value: str, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; raise UnknownNameError with a suggestion."""
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        hint = ""
        if isinstance(value, str):
            close = difflib.get_close_matches(value, allowed, n=1)
            if close:
                hint = f"; did you mean {close[0]!r}?"
        raise UnknownNameError(
            f"{name}: got {value!r}; allowed: {', '.join(map(repr, allowed))}{hint}"
        )
    return value


def check_number(name, value, *, low=None, high=None, low_open=False, high_open=False):
    """Check a plain finite real number against optional bounds; return it as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise ParameterError(f"{name}: got {value!r} ({type(value).__name__}); allowed: a real number")
    try:
        x = float(value)
    except TypeError as exc:  # e.g. a Quantity with units
        raise ParameterError(f"{name}: got {value!r}; allowed: a dimensionless real number") from exc
    if not math.isfinite(x):
        raise ParameterError(f"{name}: got {value!r}; allowed: a finite number (no NaN or inf)")
    if low is not None and (x < low or (low_open and x == low)):
        rel = ">" if low_open else ">="
        raise ParameterError(f"{name}: got {value!r}; allowed: a number {rel} {low}")
    if high is not None and (x > high or (high_open and x == high)):
        rel = "<" if high_open else "<="
        raise ParameterError(f"{name}: got {value!r}; allowed: a number {rel} {high}")
    return x


def check_int(name, value, *, low=None, high=None):
    """Check an integer (bools refused) against optional inclusive bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numpy as np

            if isinstance(value, np.integer):
                value = int(value)
            else:
                raise TypeError
        except TypeError:
            raise ParameterError(
                f"{name}: got {value!r} ({type(value).__name__}); allowed: an integer"
            ) from None
    if low is not None and value < low:
        raise ParameterError(f"{name}: got {value}; allowed: an integer >= {low}")
    if high is not None and value > high:
        raise ParameterError(f"{name}: got {value}; allowed: an integer <= {high}")
    return value


def check_quantity(name, value, unit, *, positive=False, nonnegative=False):
    """Check that ``value`` is a finite Brian2 quantity with the dimensions of ``unit``.

    Parameters
    ----------
    name : str
        Parameter name used in the message.
    value : brian2.Quantity
        The value to check.
    unit : brian2.Unit or Quantity
        A unit (or quantity) with the wanted dimensions, e.g. ``mV``.
    positive, nonnegative : bool
        Sign requirements.
    """
    from brian2.units.fundamentalunits import Quantity, get_dimensions, have_same_dimensions

    if not have_same_dimensions(value, unit):
        got_dim = get_dimensions(value)
        raise ParameterError(
            f"{name}: got {value!r} (dimensions {got_dim}); allowed: a quantity in units of {unit!s}"
            f" (dimensions {get_dimensions(unit)}), e.g. 10*{unit!s}"
        )
    x = float(Quantity(value))
    if not math.isfinite(x):
        raise ParameterError(f"{name}: got {value!r}; allowed: a finite value (no NaN or inf)")
    if positive and x <= 0:
        raise ParameterError(f"{name}: got {value!r}; allowed: a value > 0")
    if nonnegative and x < 0:
        raise ParameterError(f"{name}: got {value!r}; allowed: a value >= 0")
    return value
