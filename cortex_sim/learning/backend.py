"""The array backend of the rate learning path: NumPy on the CPU, or CuPy on an NVIDIA GPU.

There is one implementation of the encoder and the rules: every kernel asks :func:`xp_of` which
array module its inputs belong to and uses that module's functions (``xp.maximum``, ``xp.where``,
``@`` ...), the same im2col + matmul code on either device (CuPy mirrors NumPy's API, which is
why CuPy and not PyTorch or JAX: no second implementation). The random streams, data handling,
checkpoints and readouts stay on the host in NumPy; only the batch's patches, the pairs and the
weights live on the device during training.

CuPy is optional and imported only when ``backend='cupy'`` is asked for (``pip install
cupy-cuda12x`` or ``cupy-cuda13x``, matching the CUDA driver). On a GPU, scattered sums
(``cupyx.scatter_add``) use atomic float32 additions whose order varies, so two CuPy runs agree
to float32 rounding, not bit for bit; the NumPy path stays bit-reproducible.
"""

from __future__ import annotations

import sys

import numpy as np

from ..errors import ParameterError, check_choice

__all__: list = []   # internal: every name here is used by the package, none is public API

BACKENDS = ("numpy", "cupy")


def array_module(backend="numpy"):
    """The array module of ``backend`` ('numpy' or 'cupy'); a clear error where CuPy or a GPU is
    missing."""
    check_choice("backend", backend, BACKENDS)
    if backend == "numpy":
        return np
    try:
        import cupy
    except ImportError as exc:
        raise ParameterError(f"backend: got 'cupy' but CuPy cannot be imported ({exc}); allowed: 'numpy', or "
                             "'cupy' after `pip install cupy-cuda12x` (or cupy-cuda13x) on a machine with an "
                             "NVIDIA GPU") from exc
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 - CUDA raises its own error types when no driver is present
        raise ParameterError(f"backend: got 'cupy' but no CUDA device is usable ({exc}); allowed: 'numpy'") from exc
    if n < 1:
        raise ParameterError("backend: got 'cupy' but no CUDA device is present; allowed: 'numpy'")
    return cupy


def xp_of(a):
    """NumPy or CuPy, whichever ``a`` belongs to (CuPy is never imported here)."""
    cp = sys.modules.get("cupy")
    if cp is not None and isinstance(a, cp.ndarray):
        return cp
    return np


def to_host(a):
    """A NumPy array (a copy from the GPU for a CuPy array; the array itself otherwise)."""
    return a.get() if xp_of(a) is not np else a


def to_device(obj, xp):
    """Arrays in ``obj`` (nested lists, tuples, dicts) moved to ``xp``'s device."""
    if isinstance(obj, np.ndarray) or xp_of(obj) is not np:
        return xp.asarray(obj)
    if isinstance(obj, dict):
        return {k: to_device(v, xp) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(v, xp) for v in obj)
    return obj


def scatter_add(target, index, values):
    """``target[index] += values`` with repeated indices summed (``np.add.at``; on the GPU
    ``cupyx.scatter_add``)."""
    xp = xp_of(target)
    if xp is np:
        np.add.at(target, index, values)
    else:
        import cupyx

        cupyx.scatter_add(target, index, values)
