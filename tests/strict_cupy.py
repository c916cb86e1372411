"""A stand-in for CuPy on the CPU, as strict as CuPy about where arrays live.

Machines without a GPU cannot run CuPy, but they can check that the learning path's device code is
what CuPy needs: its arrays here wrap NumPy arrays, compute with NumPy (so results are bit-identical
to the NumPy path) and, like CuPy's, refuse to be turned into NumPy arrays implicitly, to be mixed
with NumPy arrays in arithmetic or indexing, or to be handed to a ``numpy.`` function. A stray
``np.`` call or a forgotten transfer in the learning code raises ``TypeError`` here as it would on a
GPU. ``install(monkeypatch)`` puts it in ``sys.modules`` as ``cupy`` and ``cupyx``.

Only what cortex_sim's learning path uses is provided; anything else raises AttributeError.
"""

import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

__all__ = ["install", "ndarray"]


def _dev(x):
    """The NumPy data of a device array; scalars pass; a host array is an error (as in CuPy)."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray):
        raise TypeError(f"a NumPy array (shape {x.shape}) met a device array: transfer it first (xp.asarray)")
    if isinstance(x, (list, tuple)):
        return type(x)(_dev(v) for v in x)
    return x


def _wrap(r):
    if isinstance(r, np.ndarray):
        return ndarray(r)
    if isinstance(r, tuple):
        return tuple(_wrap(v) for v in r)
    return r


class ndarray(NDArrayOperatorsMixin):  # noqa: N801 - CuPy's name
    """A device array: NumPy data that stays on its side of the host/device boundary."""

    __slots__ = ("_a",)

    def __init__(self, a):
        self._a = a

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct "
                        "a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_dev(o) for o in out)
        result = getattr(ufunc, method)(*(_dev(x) for x in inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types_, args, kwargs):
        raise TypeError(f"numpy.{func.__name__} was given a device array: use the array module's function")

    # what the learning path uses of CuPy's ndarray
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    T = property(lambda self: ndarray(self._a.T))

    def get(self):
        return self._a.copy()

    def __len__(self):
        return len(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __bool__(self):
        return bool(self._a)

    def __getitem__(self, key):
        return _wrap(self._a[_dev(key)])

    def __setitem__(self, key, value):
        self._a[_dev(key)] = _dev(value)

    def __repr__(self):
        return f"strict_cupy.ndarray({self._a!r})"

    def _method(name):
        def call(self, *args, **kwargs):
            return _wrap(getattr(self._a, name)(*_dev(args), **{k: _dev(v) for k, v in kwargs.items()}))
        call.__name__ = name
        return call

    reshape, transpose, sum, mean, max, astype, copy = map(_method, ("reshape", "transpose", "sum", "mean", "max",
                                                                    "astype", "copy"))
    del _method


def asarray(x, dtype=None):
    if isinstance(x, ndarray):
        return x if dtype is None or x.dtype == dtype else x.astype(dtype)
    return ndarray(np.array(x, dtype=dtype, copy=True))    # a host-to-device copy


def _make_module():
    cp = types.ModuleType("cupy")
    cp.__doc__ = __doc__
    cp.ndarray = ndarray
    cp.asarray = asarray
    for name in ("zeros", "zeros_like", "empty_like", "pad", "maximum", "where", "broadcast_to", "einsum", "dot",
                 "sqrt", "isfinite", "all", "concatenate"):
        setattr(cp, name, _function_of(getattr(np, name)))
    cp.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(
        sliding_window_view=_function_of(np.lib.stride_tricks.sliding_window_view)))
    cp.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
                                    Device=lambda *a: types.SimpleNamespace(synchronize=lambda: None))
    cupyx = types.ModuleType("cupyx")

    def scatter_add(a, slices, value):
        np.add.at(a._a, _dev(slices), _dev(value))
    cupyx.scatter_add = scatter_add
    return cp, cupyx


def _function_of(f):
    def call(*args, **kwargs):
        return _wrap(f(*_dev(args), **{k: _dev(v) for k, v in kwargs.items()}))
    return call


def install(monkeypatch):
    """Make ``import cupy`` / ``import cupyx`` give the stand-in for the rest of a test."""
    import sys

    cp, cupyx = _make_module()
    monkeypatch.setitem(sys.modules, "cupy", cp)
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)
    return cp
