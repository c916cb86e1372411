"""Presynaptic input populations that carry the per-neuron Clopath trace.

Brian2's ``SpikeGeneratorGroup`` cannot hold state variables, so inputs are ``NeuronGroup`` s:

- :func:`scheduled_spikes`: deterministic spike times generated from a protocol's parameters.
  Each neuron holds the time of its next spike and a counter; the spike table is a 2-D
  ``TimedArray`` indexed by the counter, so memory follows the number of spikes, and the group
  works unchanged on runtime, C++ standalone and CUDA devices.
- :func:`poisson_input`: independent Poisson trains at given rates.
"""

from __future__ import annotations

import numpy as np
from brian2 import Hz, NeuronGroup, TimedArray, ms, second

from .errors import ParameterError, check_int, check_quantity
from .devices import shared_clock
from .models.base import PRESYNAPTIC_TRACE_EQS

__all__ = ["scheduled_spikes", "poisson_input"]

_NEVER = 1e9  # seconds: "no further spike"


def spike_steps(times_s, dt):
    """Round spike times (seconds) to step indices; refuse negatives and NaN."""
    t = np.asarray(times_s, dtype=float)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ParameterError("spike_times: got negative, NaN or inf times; allowed: finite times >= 0")
    return np.round(t / float(dt)).astype(np.int64)


def padded_count(n, multiple=8):
    """``n`` rounded up to a multiple of ``multiple`` (at least one multiple): protocols pad their
    number of conditions to it with silent ones, so that condition lists of similar length share
    one compiled project (the group sizes are compiled in)."""
    check_int("n", n, low=0)
    return max(multiple, -(-n // multiple) * multiple)


def padded_rows(n, minimum=128):
    """The number of rows of a padded spike table: the next power of two >= ``n`` (at least
    ``minimum``). The table's shape is compiled into the code that reads it, its values are data."""
    check_int("n", n, low=0)
    return max(minimum, 1 << max(0, int(n) - 1).bit_length())


def scheduled_spikes(spike_times, *, name, dt, n_rows=None):
    """Input group whose neuron ``k`` fires at the times ``spike_times[k]``.

    Parameters
    ----------
    spike_times : list of arrays of Quantity or float seconds
        One array per neuron; times are rounded to the ``dt`` grid and must be distinct per
        neuron after rounding.
    name : str
        Brian2 name (explicit names keep C++ projects identical across runs).
    dt : Quantity
        Time step.
    n_rows : int or None
        Pad the spike table to this many rows (:func:`padded_rows`), so that other spike counts
        reuse the compiled project.
    """
    table = spike_table_array(spike_times, dt, n_rows=n_rows)
    ta = TimedArray(table * second, dt=1 * second, name=f"{name}_table")
    eqs = "t_next : second  # time of the next scheduled spike\nk_spike : 1  # spikes emitted so far\n"
    G = NeuronGroup(table.shape[1], eqs + PRESYNAPTIC_TRACE_EQS, threshold="t >= t_next - 0.5*dt",
                    reset="k_spike += 1\nt_next = spike_table(k_spike*second, i)",
                    namespace={"spike_table": ta}, name=name, clock=shared_clock(dt),
                    method="exact")
    G.t_next = table[0] * second
    G.tau_xbar = 15 * ms
    return G


def spike_table_array(spike_times, dt, n_rows=None):
    """The (n_spikes_max + 1, n_neurons) table of spike times (s) behind :func:`scheduled_spikes`.

    ``n_rows`` pads the table to a fixed number of rows (for re-runs of a compiled project, whose
    table shape is fixed).
    """
    check_quantity("dt", dt, ms, positive=True)
    if len(spike_times) == 0:
        raise ParameterError("spike_times: got no neurons; allowed: a list with one array per neuron")
    steps = []
    for k, ts in enumerate(spike_times):
        ts = np.asarray(ts / second if hasattr(ts, "dim") else ts, dtype=float).ravel()
        s = np.sort(spike_steps(ts, dt))
        if np.any(np.diff(s) == 0):
            raise ParameterError(
                f"spike_times[{k}]: got two spikes in one time step of {dt!s}; allowed: distinct steps")
        steps.append(s)
    n_max = max(len(s) for s in steps)
    rows = n_max + 1 if n_rows is None else n_rows
    if rows < n_max + 1:
        raise ParameterError(f"n_rows: got {n_rows}; allowed: at least {n_max + 1} (spikes + 1)")
    table = np.full((rows, len(steps)), _NEVER)
    for k, s in enumerate(steps):
        table[: len(s), k] = s * float(dt)
    return table


def poisson_input(n, rates, *, name, dt):
    """``n`` independent Poisson neurons firing at ``rates`` (Quantity in Hz, scalar or (n,))."""
    check_int("n", n, low=1)
    check_quantity("rates", rates if np.ndim(rates) == 0 else rates[0], Hz, nonnegative=True)
    r = np.broadcast_to(np.asarray(rates / Hz, dtype=float), (n,))
    if np.any(r < 0) or not np.all(np.isfinite(r)):
        raise ParameterError("rates: got negative or non-finite rates; allowed: rates >= 0 Hz")
    if np.any(r * float(dt) > 1):
        raise ParameterError(f"rates: got up to {r.max()} Hz; allowed: at most 1/dt = {1 / float(dt)} Hz")
    G = NeuronGroup(n, "rates : hertz  # firing rate\n" + PRESYNAPTIC_TRACE_EQS,
                    threshold="rand() < rates*dt", name=name, clock=shared_clock(dt),
                    method="exact")
    G.rates = r * Hz
    G.tau_xbar = 15 * ms
    return G
