"""Plasticity rules: the Clopath rule (NumPy kernel + Brian2 binding) and broadcast gates."""

from .broadcast import Broadcast
from .clopath import ClopathSynapses, clopath_kernel, clopath_synapses, post_trace_spec

__all__ = ["Broadcast", "ClopathSynapses", "clopath_kernel", "clopath_synapses", "post_trace_spec"]
