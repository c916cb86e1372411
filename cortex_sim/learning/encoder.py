"""Deep convolutional encoder of rectified rate units with an apical learning factor (NumPy, float32).

Each layer is a sheet of units that share 3 x 3 feedforward kernels:

    a_i = sum_j w_ij x_j + b_i          basal drive (feedforward synapses on the basal dendrite)
    z_i = rho(a_i) = max(a_i, 0)        rate (rectified)
    apical_i = (W_pred c)_i             apical input: the prediction from lateral or top-down context

The apical input does not change the rate; it enters only the learning signal (the factor that,
in the two-compartment story, a burst would carry), which is how the learning rules in
:mod:`cortex_sim.learning.rules` use it. These are not the units of
:class:`cortex_sim.models.rate.RateTwoCompartment` (sigmoid event rate and burst fraction): that
model stands on its own and the learning path does not use it (its saturating rates
would change every representation result). A 2 x 2 max-pool may follow a
layer. Layout is NHWC; convolutions are im2col (``sliding_window_view``) followed by one BLAS matmul.
The kernels run on NumPy or CuPy arrays alike (:mod:`.backend`): whichever the inputs are.

Every layer keeps what its local weight update needs (presynaptic columns x_j, the postsynaptic
state rho'(a_i) and the pooling switches); :func:`layer_backward` turns a gradient on the layer's
output into the weight update and, only if asked (bp, pc), into a gradient on the layer's input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, check_int
from .backend import to_host, xp_of

__all__ = ["Architecture", "encode_patches", "readout_features"]

F32 = np.float32


@dataclass(frozen=True)
class Architecture:
    """Layer sizes of the encoder.

    Attributes
    ----------
    channels : tuple of int
        Output channels of each 3 x 3 convolution (at least 2 layers; the presets have 4 or 6).
    pool_after : tuple of int
        1-based indices of the layers followed by a 2 x 2 max-pool.
    in_channels : int
    """

    channels: tuple = (32, 64, 128, 256)
    pool_after: tuple = (2, 4)
    in_channels: int = 1

    def __post_init__(self):
        if len(self.channels) < 2:
            raise ParameterError(
                f"channels: got {len(self.channels)} layers {tuple(self.channels)}; allowed: >= 2 layers")
        for c in self.channels:
            check_int("channels", c, low=1)
        for p in self.pool_after:
            check_int("pool_after", p, low=1, high=len(self.channels))

    @property
    def n_layers(self):
        return len(self.channels)

    def output_size(self, size):
        """Spatial side of every layer's output for a square input of side ``size``."""
        out = []
        for layer in range(1, self.n_layers + 1):
            if layer in self.pool_after:
                size //= 2
            if size < 1:
                raise ParameterError(
                    f"patch_size: too small for {len(self.pool_after)} max-pools; "
                    f"allowed: >= {2 ** len(self.pool_after)} pixels")
            out.append(size)
        return out


def init_weights(arch, rng):
    """He-initialised kernels: a list of (W (9 c_in, c_out), b (c_out,)) float32 arrays."""
    weights = []
    c_in = arch.in_channels
    for c_out in arch.channels:
        fan_in = 9 * c_in
        w = rng.standard_normal((fan_in, c_out)).astype(F32) * F32(np.sqrt(2.0 / fan_in))
        weights.append((w, np.zeros(c_out, dtype=F32)))
        c_in = c_out
    return weights


def _im2col(x):
    """(n, h, w, c) -> (n h w, 9 c) columns of the zero-padded 3 x 3 neighbourhoods."""
    n, h, w, c = x.shape
    xm = xp_of(x)
    padded = xm.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    win = xm.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))  # n h w c 3 3
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * w, 9 * c)


def layer_forward(x, weights, pool):
    """One layer: 3 x 3 convolution, rectification and an optional 2 x 2 max-pool.

    Parameters
    ----------
    x : ndarray, float32, shape (n, h, w, c_in)
    weights : (W, b)
    pool : bool

    Returns
    -------
    out : ndarray, shape (n, h', w', c_out)
    cache : tuple, what :func:`layer_backward` needs
    """
    w, b = weights
    n, h, wd, _ = x.shape
    cols = _im2col(x)
    a = (cols @ w).reshape(n, h, wd, -1)
    a += b
    active = a > 0
    r = xp_of(a).maximum(a, 0, out=a)
    switch = None
    if pool:
        h2, w2 = h // 2, wd // 2
        blocks = r[:, :2 * h2, :2 * w2].reshape(n, h2, 2, w2, 2, -1)
        out = blocks.max(axis=(2, 4))
        switch = blocks == out[:, :, None, :, None]
    else:
        out = r
    return out, (cols, active, switch, x.shape)


def layer_backward(cache, g_out, weights, need_input_grad=False):
    """Weight update (and optionally input gradient) from a gradient on the layer's output.

    ``dW = x^T (g * rho'(a))``: presynaptic columns times the postsynaptic factor times the
    learning signal arriving at each unit; no other layer is involved unless ``need_input_grad``.

    Returns
    -------
    dW, db, dx (dx is None unless ``need_input_grad``)
    """
    cols, active, switch, in_shape = cache
    n, h, wd, c_in = in_shape
    c_out = active.shape[-1]
    dtype = cols.dtype
    xp = xp_of(cols)
    g_out = xp.asarray(g_out, dtype=dtype)
    if switch is not None:
        h2, w2 = switch.shape[1], switch.shape[3]
        g_r = xp.zeros(active.shape, dtype=dtype)
        g_r[:, :2 * h2, :2 * w2] = (switch * g_out[:, :, None, :, None]).reshape(n, 2 * h2, 2 * w2, c_out)
    else:
        g_r = xp.broadcast_to(g_out, active.shape)
    delta = xp.where(active, g_r, xp.zeros((), dtype=dtype)).reshape(-1, c_out)
    dw = cols.T @ delta
    db = delta.sum(axis=0)
    dx = None
    if need_input_grad:
        dcols = (delta @ weights[0].T).reshape(n, h, wd, 3, 3, c_in)
        dxp = xp.zeros((n, h + 2, wd + 2, c_in), dtype=dtype)
        for i in range(3):
            for j in range(3):
                dxp[:, i:i + h, j:j + wd] += dcols[:, :, :, i, j]
        dx = dxp[:, 1:-1, 1:-1]
    return dw, db, dx


def forward(x, weights, arch):
    """All layers: lists of outputs and caches (layer 1 first)."""
    outs, caches = [], []
    for layer, wb in enumerate(weights, start=1):
        x, cache = layer_forward(x, wb, layer in arch.pool_after)
        outs.append(x)
        caches.append(cache)
    return outs, caches


def pooled(out):
    """Average a layer's output over positions: (n, h, w, c) -> (n, c), the patch encoding."""
    return out.mean(axis=(1, 2))


def pooled_grad(g, out_shape):
    """Gradient on the output map for a gradient ``g`` (n, c) on its position average."""
    n, h, w, c = out_shape
    return xp_of(g).broadcast_to((g / F32(h * w))[:, None, None, :], out_shape)


def encode_patches(patches, weights, arch, batch_size=None, xp=np):
    """Patch encodings of every layer.

    Parameters
    ----------
    patches : ndarray, shape (n, rows, cols, p, p)
    xp : module
        Array module to compute with (NumPy, or CuPy: the patches go to the GPU in chunks of
        ``batch_size``, default 512 on NumPy and 8192 on CuPy); the encodings come back as NumPy.

    Returns
    -------
    list of ndarray, one per layer, shape (n, rows, cols, channels)
    """
    n, rows, cols = patches.shape[:3]
    batch_size = batch_size or (512 if xp is np else 8192)
    flat = patches.reshape(n * rows * cols, *patches.shape[3:], 1).astype(F32, copy=False)
    weights = [(xp.asarray(w), xp.asarray(b)) for w, b in weights]
    chunks = [[] for _ in weights]
    for start in range(0, len(flat), batch_size):
        outs, _ = forward(xp.asarray(flat[start:start + batch_size]), weights, arch)
        for layer, out in enumerate(outs):
            chunks[layer].append(to_host(pooled(out)))
    return [np.concatenate(c).reshape(n, rows, cols, -1) for c in chunks]


def _adaptive_bounds(size, bins):
    return [(i * size // bins, -(-(i + 1) * size // bins)) for i in range(bins)]


def readout_features(encodings, pooling="patch-average"):
    """Readout features from patch encodings (n, rows, cols, c).

    'patch-average' averages over patches (the paper's protocol, c features); 'grid2x2' averages
    over a 2 x 2 grid of patch groups (adaptive pooling; 4 c features, coarse layout kept).
    """
    if pooling == "patch-average":
        return encodings.mean(axis=(1, 2))
    if pooling == "grid2x2":
        n, rows, cols, c = encodings.shape
        parts = [encodings[:, r0:r1, c0:c1].mean(axis=(1, 2))
                 for r0, r1 in _adaptive_bounds(rows, 2) for c0, c1 in _adaptive_bounds(cols, 2)]
        return np.concatenate(parts, axis=1)
    raise ParameterError(f"pooling: got {pooling!r}; allowed: 'patch-average', 'grid2x2'")
