"""Rate two-compartment unit: basal input sets the event rate, apical input the burst fraction."""

import numpy as np
import pytest

from cortex_sim.errors import ParameterError
from cortex_sim.models import RateTwoCompartment

pytestmark = pytest.mark.codegen_independent


def test_rates_and_modulation():
    unit = RateTwoCompartment()
    b = np.linspace(-5, 5, 11)
    e, burst, spikes = unit(b, apical=np.zeros(11))
    assert np.all(np.diff(e) > 0) and e.max() <= 50.0 + 1e-12
    _, burst_hi, _ = unit(b, apical=np.full(11, 5.0))
    assert np.all(burst_hi > burst)                  # apical input raises the burst rate
    np.testing.assert_allclose(unit(b, 5.0)[0], e)   # but not the event rate
    assert np.all(spikes >= e)


def test_derivative_matches_finite_difference():
    unit = RateTwoCompartment()
    x = np.linspace(-3, 3, 7)
    h = 1e-6
    fd = (unit.event_rate(x + h) - unit.event_rate(x - h)) / (2 * h)
    np.testing.assert_allclose(unit.event_rate_derivative(x), fd, rtol=1e-6)


def test_nan_refused():
    with pytest.raises(ParameterError, match="basal"):
        RateTwoCompartment().event_rate([0.0, np.nan])
