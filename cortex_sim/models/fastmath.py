"""Precision options of the neuron equations: ``exp32``, the exponential in single precision.

``precision='mixed'`` (the models' option) keeps every state variable and every operation in
double precision except the exponential of the spike-initiation or plateau nonlinearity, which
is evaluated as ``(double) expf((float) x)``, with x clamped to [-87, 88] (results from 1.6e-38 to
1.7e38 instead of 0 or inf; the AdEx argument (u - V_T)/D_T stays below 45). On the C++ device with the vector maths of
:mod:`cortex_sim.devices` the neuron loop then calls glibc's 8-wide ``expf`` instead of the
4-wide ``exp``; measured on ``bench clopath`` (benchmarks/RESULTS.md) the AdEx state update takes
0.20 s instead of 0.29 s.

Its error: the relative error of ``exp32(x)`` is that of rounding ``x`` to single precision
(``|x|`` x 6e-8) plus that of ``expf`` (about 1e-7): below 3e-6 for ``|x| <= 45``, which is the range
of ``(u - V_T)/D_T`` below the AdEx peak. What it does to spike times and weights is measured
against the double-precision reference and NEST in benchmarks/RESULTS.md and tested in
``tests/test_precision_threads.py``.

Brian2's own single precision (``prefs.core.default_float_dtype = float32``) was measured too and
is not offered: it stores the state in float but computes in double (the constants of the
generated code are doubles), so every access converts, and ``bench clopath`` took 0.59 to 0.73 s
instead of 0.37 s, with weights 1.3e-5 (relative) from the reference.
"""

from __future__ import annotations

import numpy as np
from brian2 import Function

from .._choices import PRECISIONS
from ..errors import check_choice

__all__: list = []   # internal: every name here is used by the package, none is public API

#: the argument is clamped to the range where expf is finite and normal: besides saving an inf,
#: this keeps glibc's vector expf on its fast path (without the clamp, ``bench clopath`` ran at
#: 0.79 s instead of 0.31 s, most of it in expf's scalar overflow handler)
X_MIN, X_MAX = -87.0, 88.0

_CPP = f"""
static inline double cortex_exp32(double x)
{{
    return (double)expf((float)(x < {X_MIN} ? {X_MIN} : (x > {X_MAX} ? {X_MAX} : x)));
}}
"""

_CUDA = f"""
__host__ __device__ static inline double cortex_exp32(double x)
{{
    return (double)expf((float)(x < {X_MIN} ? {X_MIN} : (x > {X_MAX} ? {X_MAX} : x)));
}}
"""

_CYTHON = f"""
cdef extern from "math.h":
    float expf(float)

cdef double cortex_exp32(double x):
    return <double>expf(<float>(({X_MIN}) if x < ({X_MIN}) else (({X_MAX}) if x > {X_MAX} else x)))
"""


def _exp32_numpy(x):
    return np.exp(np.clip(np.asarray(x, dtype=np.float64), X_MIN, X_MAX).astype(np.float32)).astype(np.float64)


def _make_exp32():
    f = Function(_exp32_numpy, arg_units=[1], return_unit=1, arg_types=["float"], return_type="float",
                 stateless=True, auto_vectorise=False)
    f.implementations.add_implementation("cpp", code=_CPP, name="cortex_exp32")
    f.implementations.add_implementation("cython", code=_CYTHON, name="cortex_exp32")
    f.implementations.add_implementation("cuda", code=_CUDA, name="cortex_exp32")
    return f


#: the Brian2 function ``exp32`` (one object, so that generated code names it identically)
EXP32 = _make_exp32()


def exp_name(precision: str) -> str:
    """The name of the exponential in the equations for ``precision``."""
    check_choice("precision", precision, PRECISIONS)
    return "exp" if precision == "double" else "exp32"


def precision_namespace(precision: str) -> dict:
    """Namespace entries the equations of ``precision`` need."""
    return {"exp32": EXP32} if exp_name(precision) == "exp32" else {}
