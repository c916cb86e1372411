"""Linear readouts of layer-wise representations (scikit-learn).

:class:`LinearReadout` standardises the features and fits a multinomial logistic regression
(scikit-learn's lbfgs solver); the inverse regularisation strength C is chosen on a stratified
validation part of the training set, then the model is refit on the whole training set.
:func:`evaluate_layers` does this for every layer (layer 0 = raw pixels) on a fixed split and
returns a tidy table (one dict per layer).
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError, check_number

__all__ = ["LinearReadout", "evaluate_layers"]

DEFAULT_CS = (0.01, 0.1, 1.0, 10.0)


def _check_x(x):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ParameterError(f"features: got shape {x.shape}; allowed: (n_samples, n_features)")
    if not np.all(np.isfinite(x)):
        raise ParameterError("features: got NaN or infinite values; allowed: finite values")
    return x


def _check_xy(x, y):
    x, y = _check_x(x), np.asarray(y)
    if len(x) != len(y):
        raise ParameterError(f"labels: got {len(y)} labels for {len(x)} samples; allowed: one per sample")
    return x, y


class LinearReadout:
    """Logistic-regression readout with regularisation chosen on a validation split.

    Parameters
    ----------
    Cs : sequence of float
        Candidate inverse regularisation strengths.
    validation_fraction : float
        Part of the training set held out to choose C (stratified).
    seed : int
        Seed of the validation split.
    max_iter : int

    Attributes
    ----------
    C_ : float
        The chosen C.
    validation_accuracy_ : float
    model_ : sklearn Pipeline (StandardScaler + LogisticRegression) fitted on all training data.
    """

    def __init__(self, Cs=DEFAULT_CS, validation_fraction=0.2, seed=0, max_iter=300):
        self.Cs = tuple(Cs)
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.max_iter = max_iter

    def _model(self, c):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=self.max_iter, tol=1e-3))

    def fit(self, x, y):
        """Choose C on a validation split, refit on all of ``x``; returns self."""
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.model_selection import train_test_split
        from threadpoolctl import threadpool_limits

        if not self.Cs:
            raise ParameterError("Cs: got an empty list; allowed: at least one positive number")
        for c in self.Cs:
            check_number("Cs", c, low=0, low_open=True)
        check_number("validation_fraction", self.validation_fraction, low=0, high=1, low_open=True, high_open=True)
        x, y = _check_xy(x, y)
        xa, xb, ya, yb = train_test_split(x, y, test_size=self.validation_fraction, stratify=y,
                                          random_state=self.seed)
        # one BLAS thread: these fits are small (faster alone: 1.4 s instead of 2.7 s for the pixel
        # readout of mnist5k), and NumPy's and SciPy's two OpenBLAS pools spinning side by side
        # slowed a Jupyter kernel's readout cell past 10 minutes on 2 cores (measured)
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores = [self._model(c).fit(xa, ya).score(xb, yb) for c in self.Cs]
            best = int(np.argmax(scores))
            self.C_ = self.Cs[best]
            self.validation_accuracy_ = float(scores[best])
            self.model_ = self._model(self.C_).fit(x, y)
        return self

    def predict(self, x):
        return self.model_.predict(_check_x(x))

    def score(self, x, y):
        """Classification accuracy on (x, y)."""
        x, y = _check_xy(x, y)
        return float(self.model_.score(x, y))


def evaluate_layers(layer_features, labels, train, test, *, seed=0, Cs=DEFAULT_CS, progress=False, desc="readout"):
    """Fit a readout on every layer's features and report test accuracy.

    Parameters
    ----------
    layer_features : list of ndarray, each (n_samples, n_features_l)
        Layer 0 first (raw pixels by convention).
    labels : ndarray, shape (n_samples,)
    train, test : ndarray of int
        The fixed split.
    seed : int
        Seed of the validation split inside the training set.
    progress : bool
        A progress bar (tqdm, on stderr) over the layers; ``desc`` labels it.

    Returns
    -------
    list of dict
        ``{"layer", "accuracy", "C", "validation_accuracy", "n_features"}`` per layer.
    """
    labels = np.asarray(labels)
    from tqdm.auto import tqdm

    rows = []
    for layer, feats in enumerate(tqdm(layer_features, desc=desc, unit="layer", disable=not progress, leave=False)):
        feats = np.asarray(feats).reshape(len(feats), -1)
        if len(feats) != len(labels):
            raise ParameterError(
                f"layer_features[{layer}]: got {len(feats)} samples for {len(labels)} labels")
        ro = LinearReadout(Cs=Cs, seed=seed).fit(feats[train], labels[train])
        rows.append({"layer": layer, "accuracy": ro.score(feats[test], labels[test]), "C": ro.C_,
                     "validation_accuracy": ro.validation_accuracy_, "n_features": int(feats.shape[1])})
    return rows
