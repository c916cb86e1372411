"""Neuron models as Brian2 equation builders (and the NumPy rate unit)."""

from . import integrators  # noqa: F401  (registers Brian2's method 'rk4_exact')
from .adex_clopath import adex_clopath
from .base import NeuronModel, build_neuron_group
from .rate import RateTwoCompartment
from .two_compartment import two_compartment

__all__ = ["adex_clopath", "two_compartment", "RateTwoCompartment", "NeuronModel", "build_neuron_group"]


def clamped_neuron(rest, method="euler"):
    """A neuron whose voltage ``u`` is a parameter (voltage clamp); ``rest`` is its E_L; ``method``
    integrates the plasticity traces added to it."""
    from brian2 import Equations

    return NeuronModel(name="clamped", equations=Equations("u : volt  # clamped voltage"),
                       voltage="u", rest=rest, method=method)
