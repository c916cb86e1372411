"""Rate two-compartment unit: basal drive sets the event rate, apical input the burst fraction.

Rate reduction of the burst neuron (Naud & Sprekeler 2018; Payeur et al. 2021)::

    e = r_max sigma((b - b_theta)/b_slope)              event rate (basal/feedforward)
    p = p_min + (p_max - p_min) sigma((a - a_theta)/a_slope)   burst probability (apical)
    burst rate = p e,   spike rate = e (1 + (n_burst - 1) p)

Pure NumPy, a model of its own (tested in ``tests/test_rate_two_compartment.py``). The
representation-learning studies do not use it: their encoder (:mod:`cortex_sim.learning.encoder`)
has rectified rate units and lets the apical prediction enter only the learning signal.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..params import RateTwoCompartmentParams, preset

__all__ = ["RateTwoCompartment"]


def sigmoid(x):
    """Numerically stable logistic function."""
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


class RateTwoCompartment:
    """Vectorised rate two-compartment units.

    Parameters
    ----------
    params : RateTwoCompartmentParams or str
        Parameters or preset name ('default').
    """

    def __init__(self, params: RateTwoCompartmentParams | str = "default"):
        self.params = preset("rate", params) if isinstance(params, str) else params

    def _check(self, name, x):
        x = np.asarray(x, dtype=float)
        if not np.all(np.isfinite(x)):
            raise ParameterError(f"{name}: got non-finite values; allowed: finite numbers")
        return x

    def event_rate(self, basal):
        """Event rate (Hz, float array) for basal drive ``basal`` (any shape)."""
        p = self.params
        b = self._check("basal", basal)
        return float(p.r_max) * sigmoid((b - p.b_theta) / p.b_slope)

    def burst_probability(self, apical):
        """Probability that an event is a burst, for apical input ``apical``."""
        p = self.params
        a = self._check("apical", apical)
        return p.p_min + (p.p_max - p.p_min) * sigmoid((a - p.a_theta) / p.a_slope)

    def __call__(self, basal, apical):
        """Return ``(event_rate, burst_rate, spike_rate)`` in Hz, broadcast over inputs."""
        e = self.event_rate(basal)
        prob = self.burst_probability(apical)
        return e, prob * e, e * (1.0 + (self.params.n_burst - 1.0) * prob)

    def event_rate_derivative(self, basal):
        """d(event rate)/d(basal), the postsynaptic factor rho'(a) of the learning rules."""
        p = self.params
        s = sigmoid((self._check("basal", basal) - p.b_theta) / p.b_slope)
        return float(p.r_max) * s * (1 - s) / p.b_slope
