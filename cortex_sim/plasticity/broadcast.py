"""Broadcast gates: global modulatory factors multiplying every plastic update.

M(t) is the "same object?" signal of CLAPP (+1 same object, -1 after a saccade, 0 no learning,
or any real-valued schedule); an optional second gate (e.g. "prediction already good" -> 0)
multiplies it. A schedule is piecewise constant and becomes a Brian2 ``TimedArray`` (held at its
last value after its end), so it works on every device.
"""

from __future__ import annotations

import numpy as np
from brian2 import TimedArray, ms, second

from ..errors import ParameterError, check_number, check_quantity

__all__ = ["Broadcast"]

_GRIDS_S = (1.0, 0.1, 0.01, 1e-3, 1e-4, 1e-5)


class Broadcast:
    """A piecewise-constant schedule of a global factor.

    Parameters
    ----------
    values : array_like (n,)
        Value in each bin (finite reals).
    dt : Quantity
        Bin width.
    name : str or None
        Name of its Brian2 TimedArray (explicit names keep a standalone project identical from one
        build to the next in the same process).

    Examples
    --------
    >>> from brian2 import ms
    >>> b = Broadcast.from_events([0*ms, 100*ms, 250*ms], [1, -1, 0])
    >>> [b.value_at(t) for t in (50*ms, 120*ms, 1000*ms)]
    [1.0, -1.0, 0.0]
    """

    def __init__(self, values, dt, name=None):
        check_quantity("dt", dt, ms, positive=True)
        v = np.asarray(values, dtype=float).ravel()
        if v.size == 0:
            raise ParameterError("values: got an empty schedule; allowed: at least one value")
        if not np.all(np.isfinite(v)):
            raise ParameterError("values: got NaN or inf in the broadcast schedule; allowed: finite numbers")
        self.values = v
        self.dt = dt
        self.name = name

    @classmethod
    def constant(cls, value=1.0):
        """M(t) = value for all t."""
        return cls([check_number("value", value)], 1 * second)

    @classmethod
    def from_array(cls, values, dt):
        """Schedule sampled at ``dt`` (alias of the constructor)."""
        return cls(values, dt)

    @classmethod
    def from_events(cls, times, values, initial=1.0):
        """Schedule that takes ``values[k]`` from ``times[k]`` on (``initial`` before the first).

        Event times must be non-negative and increasing; the bin width is the coarsest of
        1 s, 100 ms, ..., 10 us on which all times lie.
        """
        t = np.asarray([float(check_quantity("times", x, ms, nonnegative=True)) for x in times])
        vals = np.asarray(values, dtype=float)
        if t.shape != vals.shape:
            raise ParameterError(f"values: got {vals.size} values for {t.size} times; allowed: one per time")
        if np.any(np.diff(t) < 0):
            raise ParameterError("times: got decreasing event times; allowed: increasing times")
        check_number("initial", initial)
        for g in _GRIDS_S:
            if np.allclose(np.round(t / g) * g, t, rtol=0, atol=1e-9):
                break
        else:
            raise ParameterError("times: event times must lie on a 10 us grid")
        n_bins = int(round(t[-1] / g)) + 1 if t.size else 1
        out = np.full(n_bins, float(initial))
        for tk, vk in zip(t, vals):
            out[int(round(tk / g)):] = vk
        return cls(out, g * second)

    def timed_array(self):
        """The schedule as a Brian2 TimedArray, one per Broadcast object: every projection gated by
        the same Broadcast shares it, so that a standalone re-run can replace its values once
        (``run_args={broadcast.timed_array(): values}``)."""
        if getattr(self, "_timed_array", None) is None:
            kw = {"name": self.name} if self.name else {}
            self._timed_array = TimedArray(self.values, dt=self.dt, **kw)
        return self._timed_array

    def value_at(self, t):
        """Value at time ``t`` (NumPy side; the last value holds after the end)."""
        k = int(np.clip(np.floor(float(t) / float(self.dt) + 1e-9), 0, self.values.size - 1))
        return float(self.values[k])

    def sample(self, n_steps, dt):
        """Values at the steps ``0, dt, ..., (n_steps-1) dt`` (for the NumPy kernel)."""
        idx = np.clip(np.floor(np.arange(n_steps) * float(dt) / float(self.dt) + 1e-9).astype(int),
                      0, self.values.size - 1)
        return self.values[idx]
