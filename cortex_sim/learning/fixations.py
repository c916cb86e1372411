"""Fixations and saccades: how the spiking learner sees images (pure NumPy).

An image is seen as a sequence of fixations. A fixation shows one patch of the patch grid the rate
path uses (:func:`cortex_sim.learning.data.patch_grid`) for ``t_fix`` as Poisson spike trains of
ON/OFF channels, one pair per pixel (centre-surround contrast against the patch mean, as retinal
ON and OFF cells)::

    c = x - mean(x over the patch)
    rate_ON = rate_max * clip(contrast_gain * c, 0, 1),  rate_OFF = rate_max * clip(-contrast_gain * c, 0, 1)

A fixation may show a *glimpse*: a block of ``gr x gc`` neighbouring patches at once
(:func:`glimpse_rates`), one group of input channels per patch, so that the layer above the
patch-wise first layer sees a larger part of the image (a growing receptive field, as in
convolutional CLAPP).

Two training schedules (CLAPP's views, Illing et al. 2021):

- ``tour`` (:func:`tour_chunks`): the glimpses tile the image (a grid of non-overlapping glimpse
  positions); each image gets ``fixations`` fixations at distinct positions in random order, so
  consecutive fixations of one image share no pixel and the context has to predict more than
  pixel overlap.
- ``walk`` (:func:`training_chunks`, the first design): single patches moving down one column,
  ``steps_ahead`` rows at a time from a random start (one row apart they share half their pixels).

In both, the eye then saccades to the next image. The broadcast M(t) is +1 during the fixations
that follow a fixation of the same image ("same image": their context came from this image) and -1
during the first fixation of every image ("the eye just jumped": its context came from the
previous image). With two fixations per image positive and negative updates are balanced; with
more, the Hebbian part of the rule keeps a positive sign on average. In these two schedules the
negative and positive pairs also differ in where the eye moved (a walk's negatives go from the
bottom of one image to the top of the next): a context can tell them apart by position alone.

- ``swap`` (:func:`swap_chunks`, CLAPP's negatives): a walk down one column, but at every move the
  image under the eye is replaced by another one with probability 1/2 (the broadcast says which:
  M = +1 same image, -1 another image). Positive and negative pairs then make the same move, and
  only the image differs, as CLAPP's negatives come from another image at the same location
  (Illing et al. 2021). The first fixation of every image has M = 0 (its context is a different
  move).

Evaluation shows every position of every image (row-major) with M = 0.

Fixations are grouped into chunks of ``slots`` fixations, one run of the compiled network each.
Spike times are drawn here from ``numpy.random.default_rng([seed, stream, epoch, chunk])``, so a
chunk's input depends on nothing else and a resumed run sees exactly the same spikes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, check_int, check_number

__all__: list = []   # internal: every name here is used by the package, none is public API

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


def glimpse_grid(patch_grid_shape, glimpse):
    """(rows, cols) of the grid of non-overlapping ``glimpse`` (gr, gc) blocks tiling a patch grid."""
    rows, cols = patch_grid_shape
    gr, gc = (check_int("glimpse", g, low=1) for g in glimpse)
    if rows % gr or cols % gc:
        raise ParameterError(f"glimpse: got {gr} x {gc} patches on a {rows} x {cols} patch grid; allowed: a block "
                             "that tiles the grid (rows and columns divisible by it)")
    return rows // gr, cols // gc


def glimpse_rates(patch_rates, glimpse):
    """Input rates of glimpses: the patches of each ``glimpse`` (gr, gc) block side by side.

    Parameters
    ----------
    patch_rates : ndarray, shape (n, rows, cols, channels)
    glimpse : (int, int)

    Returns
    -------
    ndarray, shape (n, rows / gr, cols / gc, gr gc channels): the channels of the block's patch
    (dr, dc) are ``[(dr gc + dc) channels, (dr gc + dc + 1) channels)``.
    """
    n, rows, cols, ch = patch_rates.shape
    GR, GC = glimpse_grid((rows, cols), glimpse)
    gr, gc = glimpse
    x = patch_rates.reshape(n, GR, gr, GC, gc, ch).transpose(0, 1, 3, 2, 4, 5)
    return np.ascontiguousarray(x.reshape(n, GR, GC, gr * gc * ch))


def tour_chunks(rates, order, *, slots, rng, epoch=0, fixations=2):
    """Training chunks of the ``tour`` schedule: ``fixations`` distinct positions per image.

    Parameters
    ----------
    rates : ndarray, shape (n_images, rows, cols, n_channels)
        Rates of every fixation position (patches, or glimpses from :func:`glimpse_rates`).
    order : ndarray of int
        Images in presentation order.
    slots : int
        Fixations per chunk (a multiple of ``fixations``).
    rng : numpy Generator
        Draws each image's positions (a random permutation of the grid, its first ``fixations``).

    Yields
    ------
    FixationChunk
    """
    n, rows, cols, n_ch = rates.shape
    F = check_int("fixations", fixations, low=2, high=rows * cols)
    slots = check_int("slots", slots, low=F)
    if slots % F:
        raise ParameterError(f"slots: got {slots}; allowed: a multiple of the {F} fixations per image")
    per = slots // F
    picks = np.argsort(rng.random((len(order), rows * cols)), axis=1)[:, :F]
    for index, start in enumerate(range(0, len(order), per)):
        r, m, image, pos = _empty(slots, n_ch)
        for s, idx in enumerate(range(start, min(start + per, len(order)))):
            img = int(order[idx])
            for f in range(F):
                row, col = divmod(int(picks[idx, f]), cols)
                r[F * s + f] = rates[img, row, col]
                image[F * s + f] = img
                pos[F * s + f] = (row, col)
                m[F * s + f] = -1.0 if f == 0 else 1.0
        yield FixationChunk(r, m, image, pos, epoch, index)


def swap_chunks(rates, order, *, slots, steps_ahead, rng, epoch=0, fixations=2):
    """Training chunks of the ``swap`` schedule (see the module docstring).

    Parameters as :func:`training_chunks`; ``rng`` also draws, at every move, whether the image is
    swapped (probability 1/2) and for which image of ``order``.

    Yields
    ------
    FixationChunk (``image`` holds the image actually shown in each slot)
    """
    n, rows, cols, n_ch = rates.shape
    F = check_int("fixations", fixations, low=2)
    slots = check_int("slots", slots, low=F)
    if slots % F:
        raise ParameterError(f"slots: got {slots}; allowed: a multiple of the {F} fixations per image")
    k = check_int("steps_ahead", steps_ahead, low=1)
    if (F - 1) * k >= rows:
        raise ParameterError(f"fixations: got {F} fixations {k} row(s) apart on a {rows}-row grid; allowed: "
                             f"(fixations - 1) x steps_ahead < {rows}")
    if len(order) < 2:
        raise ParameterError(f"order: got {len(order)} image(s); allowed: at least 2 (a swap needs another image)")
    per = slots // F
    r0 = rng.integers(0, rows - (F - 1) * k, size=len(order))
    c0 = rng.integers(0, cols, size=len(order))
    swap = rng.random((len(order), F)) < 0.5
    other = rng.integers(0, len(order) - 1, size=(len(order), F))
    for index, start in enumerate(range(0, len(order), per)):
        r, m, image, pos = _empty(slots, n_ch)
        for s, idx in enumerate(range(start, min(start + per, len(order)))):
            img = int(order[idx])
            for f in range(F):
                if f > 0 and swap[idx, f]:
                    j = int(other[idx, f])
                    img = int(order[j + (j >= idx)])          # any image of the epoch but this one
                row = r0[idx] + f * k
                r[F * s + f] = rates[img, row, c0[idx]]
                image[F * s + f] = img
                pos[F * s + f] = (row, c0[idx])
                m[F * s + f] = 0.0 if f == 0 else (-1.0 if swap[idx, f] else 1.0)
        yield FixationChunk(r, m, image, pos, epoch, index)


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
    steps_all, chans = [], []
    for s in range(slots):
        if not np.any(p[s] > 0):
            continue
        hit = rng.random((steps, n_ch)) < p[s]
        step_idx, ch = np.nonzero(hit)
        steps_all.append(s * steps + step_idx)
        chans.append(ch)
    table = np.full((n_rows, n_ch), NEVER_S)
    if not chans:
        return table
    t, ch = np.concatenate(steps_all), np.concatenate(chans)
    order = np.lexsort((t, ch))                       # by channel, then time
    t, ch = t[order], ch[order]
    counts = np.bincount(ch, minlength=n_ch)
    if counts.max() > n_rows - 1:
        c = int(np.argmax(counts))
        raise ParameterError(
            f"spike table: channel {c} fired {counts[c]} times in one chunk; allowed: at most {n_rows - 1} "
            "(lower rate_max or the fixations per chunk)")
    rank = np.arange(len(ch)) - np.concatenate([[0], np.cumsum(counts)[:-1]])[ch]
    table[rank, ch] = t * dt_s
    return table
