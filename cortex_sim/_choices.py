"""Choices shared by the Python API (bench, the neuron models) and the command line's options:
one list each."""

#: integration methods of the AdEx and two-compartment neurons offered by bench and the protocols
#: ('rk4_exact': cortex_sim.models.integrators; rk2 and euler drift from NEST: benchmarks/RESULTS.md)
METHODS = ("rk4_exact", "rk4", "rk2", "euler")

#: precisions of the neuron models (cortex_sim.models.fastmath)
PRECISIONS = ("double", "mixed")
