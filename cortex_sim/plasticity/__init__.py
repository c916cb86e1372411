"""Plasticity rules: the Clopath rule (NumPy kernel + Brian2 binding) and broadcast gates."""

from .broadcast import Broadcast
from .accumulator import accumulator_synapses
from .clopath import ClopathSynapses, clopath_kernel, clopath_synapses, post_trace_spec  # noqa: F401

__all__ = ["Broadcast", "ClopathSynapses", "clopath_kernel", "clopath_synapses", "accumulator_synapses"]
