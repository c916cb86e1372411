"""Fixations and saccades: how the spiking learner sees images (pure NumPy).

An image is seen as a sequence of fixations. A fixation shows one patch of the patch grid the rate
path uses (:func:`cortex_sim.learning.data.patch_grid`) for ``t_fix`` as Poisson spike trains of
ON/OFF channels, one pair per pixel (centre-surround contrast against the patch mean, as retinal
ON and OFF cells)::

    c = x - mean(x over the patch)
    rate_ON = rate_max * clip(contrast_gain * c, 0, 1),  rate_OFF = rate_max * clip(-contrast_gain * c, 0, 1)

Training schedule (CLAPP's views, Illing et al. 2021): each image gets ``fixations`` fixations that
move down one column, ``steps_ahead`` rows at a time (from a random start row and column), then the
eye saccades to the next image. The broadcast M(t) is +1 during the fixations that follow a
fixation of the same image ("same image": their context came from this image) and -1 during the
first fixation of every image ("the eye just jumped": its context came from the previous image).
With two fixations per image positive and negative updates are balanced; with more, the Hebbian
part of the rule keeps a positive sign on average. Evaluation shows every patch of every image
(rows x cols fixations per image, row-major) with M = 0.

Fixations are grouped into chunks of ``slots`` fixations, one run of the compiled network each.
Spike times are drawn here from ``numpy.random.default_rng([seed, stream, epoch, chunk])``, so a
chunk's input depends on nothing else and a resumed run sees exactly the same spikes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, check_int, check_number

__all__ = ["on_off_rates", "FixationChunk", "training_chunks", "evaluation_chunks", "spike_table",
           "chunk_rows", "NEVER_S"]

NEVER_S = 1e9  # seconds: "no further spike" in a spike table


def on_off_rates(patches, rate_max_hz, contrast_gain=2.0):
    """ON/OFF channel rates (Hz) of patches.

    Parameters
    ----------
    patches : ndarray, shape (..., p, p), values in [0, 1]
    rate_max_hz : float
    contrast_gain : float

    Returns
    -------
    ndarray, shape (..., 2 p p): the p p ON channels, then the p p OFF channels
    """
    x = np.asarray(patches, dtype=float)
    rate_max_hz = check_number("rate_max_hz", rate_max_hz, low=0, low_open=True)
    contrast_gain = check_number("contrast_gain", contrast_gain, low=0, low_open=True)
    flat = x.reshape(*x.shape[:-2], -1)
    c = contrast_gain * (flat - flat.mean(axis=-1, keepdims=True))
    return rate_max_hz * np.concatenate([np.clip(c, 0, 1), np.clip(-c, 0, 1)], axis=-1)


@dataclass
class FixationChunk:
    """One run of the compiled network: ``slots`` fixations.

    Attributes
    ----------
    rates : ndarray (slots, n_channels), Hz (0 for unused slots)
    modulation : ndarray (slots,), the broadcast M of each fixation
    image : ndarray of int (slots,), the image shown in each slot (-1: unused)
    position : ndarray of int (slots, 2), (row, column) of the patch shown
    """

    rates: np.ndarray
    modulation: np.ndarray
    image: np.ndarray
    position: np.ndarray
    epoch: int = 0
    index: int = 0


def _empty(slots, n_channels):
    return (np.zeros((slots, n_channels)), np.zeros(slots), np.full(slots, -1, dtype=np.int64),
            np.zeros((slots, 2), dtype=np.int64))


def training_chunks(patch_rates, order, *, slots, steps_ahead, rng, epoch=0, fixations=2):
    """Training chunks for the images in ``order`` (``fixations`` fixations per image).

    Parameters
    ----------
    patch_rates : ndarray, shape (n_images, rows, cols, n_channels)
        ON/OFF rates of every patch (:func:`on_off_rates`).
    order : ndarray of int
        Images in presentation order.
    slots : int
        Fixations per chunk (a multiple of ``fixations``).
    steps_ahead : int
        Rows between consecutive fixations of an image.
    rng : numpy Generator
        Draws each image's first patch (a start row from which all fixations fit, any column).
    fixations : int
        Fixations per image (>= 2).

    Yields
    ------
    FixationChunk
    """
    n, rows, cols, n_ch = patch_rates.shape
    F = check_int("fixations", fixations, low=2)
    slots = check_int("slots", slots, low=F)
    if slots % F:
        raise ParameterError(f"slots: got {slots}; allowed: a multiple of the {F} fixations per image")
    k = check_int("steps_ahead", steps_ahead, low=1)
    if (F - 1) * k >= rows:
        raise ParameterError(f"fixations: got {F} fixations {k} row(s) apart on a {rows}-row patch grid; allowed: "
                             f"(fixations - 1) x steps_ahead < {rows}")
    per = slots // F
    r0 = rng.integers(0, rows - (F - 1) * k, size=len(order))
    c0 = rng.integers(0, cols, size=len(order))
    for index, start in enumerate(range(0, len(order), per)):
        rates, m, image, pos = _empty(slots, n_ch)
        for s, idx in enumerate(range(start, min(start + per, len(order)))):
            img = int(order[idx])
            for f in range(F):
                r = r0[idx] + f * k
                rates[F * s + f] = patch_rates[img, r, c0[idx]]
                image[F * s + f] = img
                pos[F * s + f] = (r, c0[idx])
                m[F * s + f] = -1.0 if f == 0 else 1.0
        yield FixationChunk(rates, m, image, pos, epoch, index)


def evaluation_chunks(patch_rates, *, slots):
    """Evaluation chunks: every patch of every image in order (M = 0).

    ``slots`` must be a multiple of rows x cols, so that an image never straddles two chunks.
    """
    n, rows, cols, n_ch = patch_rates.shape
    per_image = rows * cols
    if slots % per_image:
        raise ParameterError(f"slots: got {slots}; allowed: a multiple of the {per_image} patches per image")
    per = slots // per_image
    rr, cc = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    grid = np.stack([rr.ravel(), cc.ravel()], axis=1)
    for index, start in enumerate(range(0, n, per)):
        rates, m, image, pos = _empty(slots, n_ch)
        imgs = np.arange(start, min(start + per, n))
        used = len(imgs) * per_image
        rates[:used] = patch_rates[imgs].reshape(-1, n_ch)
        image[:used] = np.repeat(imgs, per_image)
        pos[:used] = np.tile(grid, (len(imgs), 1))
        yield FixationChunk(rates, m, image, pos, 0, index)


def chunk_rows(rate_max_hz, slots, t_fix_s):
    """Rows of the spike table: the most spikes one channel can emit in a chunk, with a margin of
    8 standard deviations of the Poisson count (exceeded with probability < 1e-12)."""
    mean = rate_max_hz * slots * t_fix_s
    return int(np.ceil(mean + 8 * np.sqrt(mean) + 8)) + 1


def spike_table(rates, t_fix_s, dt_s, rng, n_rows):
    """Poisson spike times of every channel over a chunk, as a (n_rows, n_channels) table (s).

    Spikes are Bernoulli draws per time step (p = rate dt, at most one per step), so the times lie
    on the dt grid; rows after a channel's last spike hold :data:`NEVER_S`.
    """
    slots, n_ch = rates.shape
    steps = int(round(t_fix_s / dt_s))
    if steps < 1:
        raise ParameterError(f"t_fix: got {t_fix_s * 1e3:g} ms; allowed: at least one time step ({dt_s * 1e3:g} ms)")
    p = rates * dt_s
    if np.any(p > 1) or np.any(p < 0) or not np.all(np.isfinite(p)):
        raise ParameterError("rates: got rates outside [0, 1/dt]; allowed: 0 <= rate <= 1/dt")
    times = [[] for _ in range(n_ch)]
    for s in range(slots):
        if not np.any(p[s] > 0):
            continue
        hit = rng.random((steps, n_ch)) < p[s]
        step_idx, ch = np.nonzero(hit)
        order = np.argsort(ch, kind="stable")
        step_idx, ch = step_idx[order], ch[order]
        bounds = np.searchsorted(ch, np.arange(n_ch + 1))
        for c in range(n_ch):
            if bounds[c + 1] > bounds[c]:
                times[c].append((s * steps + step_idx[bounds[c]:bounds[c + 1]]) * dt_s)
    table = np.full((n_rows, n_ch), NEVER_S)
    for c, parts in enumerate(times):
        if parts:
            t = np.concatenate(parts)
            if t.size > n_rows - 1:
                raise ParameterError(
                    f"spike table: channel {c} fired {t.size} times in one chunk; allowed: at most {n_rows - 1} "
                    "(lower rate_max or the fixations per chunk)")
            table[: t.size, c] = t
    return table
