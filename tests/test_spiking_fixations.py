"""Fixations, saccades and input spike tables of the spiking learner (pure NumPy)."""

import numpy as np
import pytest

from cortex_sim.errors import ParameterError
from cortex_sim.learning.fixations import (NEVER_S, chunk_rows, evaluation_chunks, glimpse_rates, on_off_rates,
                                           spike_table, tour_chunks, training_chunks)

pytestmark = pytest.mark.codegen_independent


def test_on_off_channels_split_the_contrast():
    patch = np.array([[[0.0, 1.0], [0.5, 0.5]]])            # mean 0.5
    r = on_off_rates(patch, 100.0, contrast_gain=2.0)[0]
    np.testing.assert_allclose(r[:4], [0, 100, 0, 0])        # ON: brighter than the patch mean
    np.testing.assert_allclose(r[4:], [100, 0, 0, 0])        # OFF: darker
    assert np.all(on_off_rates(np.full((1, 3, 3), 0.7), 100.0) == 0)   # uniform patch: silent


def test_training_chunks_move_down_a_column_and_flip_the_broadcast_after_a_saccade():
    rates = np.random.default_rng(0).random((10, 3, 3, 8))
    chunks = list(training_chunks(rates, np.arange(10), slots=12, steps_ahead=1, rng=np.random.default_rng(1),
                                  fixations=3))
    assert len(chunks) == 3                                  # 4 images per chunk, 10 images
    c = chunks[0]
    np.testing.assert_array_equal(c.modulation, [-1, 1, 1] * 4)   # -1 right after each saccade
    np.testing.assert_array_equal(c.image, np.repeat([0, 1, 2, 3], 3))
    for s in range(4):
        rows, cols = c.position[3 * s:3 * s + 3].T
        np.testing.assert_array_equal(np.diff(rows), [1, 1])
        assert len(set(cols)) == 1
        np.testing.assert_array_equal(c.rates[3 * s], rates[s, rows[0], cols[0]])
    last = chunks[-1]                                        # 2 images + 2 unused slots: silent, M = 0
    assert np.all(last.image[6:] == -1) and np.all(last.modulation[6:] == 0) and np.all(last.rates[6:] == 0)


def test_glimpses_put_the_patches_of_a_block_side_by_side():
    rates = np.random.default_rng(0).random((3, 4, 4, 5))           # 4 x 4 patches, 5 channels each
    g = glimpse_rates(rates, (2, 2))
    assert g.shape == (3, 2, 2, 20)
    for a in range(2):
        for b in range(2):
            for dr in range(2):
                for dc in range(2):
                    k = dr * 2 + dc                                   # group of patch (dr, dc) of the block
                    np.testing.assert_array_equal(g[:, a, b, 5 * k:5 * k + 5], rates[:, 2 * a + dr, 2 * b + dc])
    with pytest.raises(ParameterError, match="glimpse"):
        glimpse_rates(np.zeros((1, 3, 3, 2)), (2, 2))                 # 2 x 2 blocks cannot tile 3 x 3


def test_tour_fixates_distinct_non_overlapping_positions_and_flips_the_broadcast():
    rates = np.random.default_rng(0).random((20, 2, 2, 6))          # 4 glimpse positions per image
    chunks = list(tour_chunks(rates, np.arange(20), slots=12, rng=np.random.default_rng(3), fixations=3))
    assert len(chunks) == 5
    firsts = []
    for c in chunks:
        np.testing.assert_array_equal(c.modulation, [-1, 1, 1] * 4)
        for s in range(4):
            pos = [tuple(p) for p in c.position[3 * s:3 * s + 3]]
            assert len(set(pos)) == 3                                 # distinct positions: no pixel shared
            img = c.image[3 * s]
            for k, (r, col) in enumerate(pos):
                np.testing.assert_array_equal(c.rates[3 * s + k], rates[img, r, col])
            firsts.append(pos[0])
    assert len(set(firsts)) == 4                                      # every position starts some tour
    with pytest.raises(ParameterError, match="fixations"):
        next(tour_chunks(rates, np.arange(4), slots=10, rng=np.random.default_rng(0), fixations=5))


def test_evaluation_chunks_show_every_patch_once():
    rates = np.random.default_rng(0).random((5, 3, 3, 4))
    seen = np.zeros((5, 3, 3), int)
    for c in evaluation_chunks(rates, slots=18):
        assert np.all(c.modulation == 0)
        for k in np.nonzero(c.image >= 0)[0]:
            i, (r, col) = c.image[k], c.position[k]
            seen[i, r, col] += 1
            np.testing.assert_array_equal(c.rates[k], rates[i, r, col])
    assert np.all(seen == 1)


def test_spike_table_is_deterministic_poisson_on_the_grid():
    rates = np.tile([0.0, 20.0, 100.0], (50, 1))             # 50 fixations of 100 ms
    n_rows = chunk_rows(100.0, 50, 0.1)
    a = spike_table(rates, 0.1, 1e-4, np.random.default_rng(7), n_rows)
    b = spike_table(rates, 0.1, 1e-4, np.random.default_rng(7), n_rows)
    np.testing.assert_array_equal(a, b)
    counts = (a < NEVER_S).sum(axis=0)
    assert counts[0] == 0
    # mean counts 100 and 500 over 5 s: within 5 Poisson standard deviations
    assert abs(counts[1] - 100) < 5 * 10 and abs(counts[2] - 500) < 5 * np.sqrt(500)
    t = a[a < NEVER_S]
    np.testing.assert_allclose(t / 1e-4, np.round(t / 1e-4), atol=1e-6)   # on the dt grid
    assert np.all(np.diff(a[: counts[2], 2]) > 0)


def test_bad_schedules_are_refused():
    rates = np.zeros((4, 3, 3, 2))
    with pytest.raises(ParameterError, match="fixations"):
        next(training_chunks(rates, np.arange(4), slots=12, steps_ahead=2, rng=np.random.default_rng(0), fixations=3))
    with pytest.raises(ParameterError, match="slots"):
        next(training_chunks(rates, np.arange(4), slots=10, steps_ahead=1, rng=np.random.default_rng(0), fixations=3))
    with pytest.raises(ParameterError, match="rates"):
        spike_table(np.full((1, 2), -5.0), 0.1, 1e-4, np.random.default_rng(0), 10)
    with pytest.raises(ParameterError, match="rate_max_hz"):
        on_off_rates(np.zeros((1, 2, 2)), -10.0)
