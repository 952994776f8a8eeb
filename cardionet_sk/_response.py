"""Probability of the positive value of each label, read from any scikit-learn classifier.

Multi-label classifiers shape ``predict_proba`` in several ways; the meta-estimators that
post-process probabilities, such as :class:`~cardionet_sk.ThresholdOptimizer`, read them all
here as one ``(n_samples, n_classes)`` array, as :mod:`sklearn.utils._response` does for
single-output classifiers.
"""

import numpy as np
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.parallel import Parallel, delayed

from ._compat import check_method_params, safe_indexing


def _positive_columns(proba, classes):
    """Stack the column of value 1 of each label's ``(n_samples, n_values)`` array."""
    return np.column_stack(
        [
            # A label constant in the training data has no column for the value
            # it never took: a missing positive column means a probability of 0.
            p[:, np.flatnonzero(np.asarray(values) == 1)].sum(axis=1)
            for p, values in zip(proba, classes)
        ]
    )


def positive_proba(estimator, X, n_classes, **predict_params):
    """Probability of the positive value of each label.

    Reads the three shapes a scikit-learn classifier's ``predict_proba`` takes
    on 0/1 labels: an ``(n_samples, n_classes)`` array (multi-label
    :class:`~sklearn.neural_network.MLPClassifier`,
    :class:`~cardionet_sk.CardioNetClassifier`), a list of one
    ``(n_samples, n_values)`` array per label
    (:class:`~sklearn.multioutput.MultiOutputClassifier`, multi-label
    :class:`~sklearn.neighbors.KNeighborsClassifier`) and, for a single
    label, the binary ``(n_samples, 2)`` array.

    Parameters
    ----------
    estimator : estimator instance
        Fitted classifier.
    X : array-like
        Samples, as accepted by ``estimator.predict_proba``.
    n_classes : int
        Number of labels ``estimator`` was fitted on.
    **predict_params
        Passed to ``estimator.predict_proba`` (e.g. the ``sampling_rate`` and
        ``lead_names`` of ECG records); none by default.

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
    """
    proba = estimator.predict_proba(X, **predict_params)
    if isinstance(proba, list):
        proba = _positive_columns(proba, estimator.classes_)
    elif n_classes == 1 and np.shape(proba)[1] == 2:
        proba = _positive_columns([proba], [estimator.classes_])
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] != n_classes:
        raise ValueError(
            f"{type(estimator).__name__}.predict_proba returned probabilities of "
            f"shape {proba.shape}, which cannot be read as one probability for "
            f"each of the {n_classes} labels."
        )
    return proba


def _fit_and_predict_proba(estimator, X, y, train, test, n_classes, fit_params):
    """Fit ``estimator`` on the ``train`` rows and predict the ``test`` rows."""
    fit_params = check_method_params(X, params=fit_params, indices=train)
    estimator.fit(safe_indexing(X, train), safe_indexing(y, train), **fit_params)
    return estimator, positive_proba(estimator, safe_indexing(X, test), n_classes)


def out_of_fold_proba(estimator, X, y, splits, n_classes, fit_params, n_jobs=None):
    """Probabilities of each test part, given by a clone of ``estimator`` fitted on its train part.

    Parameters
    ----------
    estimator : estimator instance
        Unfitted classifier with ``predict_proba``; it is cloned for each split.
    X : array-like
        Samples, as accepted by ``estimator``.
    y : array-like
        Target passed to ``estimator.fit``.
    splits : list of (train, test) tuples of index arrays
        Rows of ``X`` and ``y`` of each split; the test parts need not cover every row.
    n_classes : int
        Number of labels of ``y``.
    fit_params : dict
        Parameters of ``estimator.fit``, indexed like ``X`` where they hold one value per sample.
    n_jobs : int, default=None
        Number of splits fitted in parallel.

    Returns
    -------
    fold_estimators : tuple of estimator instances
        The clone fitted on each split's train part.
    proba : ndarray of shape (n_test_samples, n_classes)
        The probabilities of every test part, pooled.
    test_rows : ndarray of shape (n_test_samples,)
        The row of ``X`` of each row of ``proba``.
    """
    fold_estimators, fold_proba = zip(
        *Parallel(n_jobs=n_jobs)(
            delayed(_fit_and_predict_proba)(
                clone(estimator), X, y, train, test, n_classes, fit_params
            )
            for train, test in splits
        )
    )
    test_rows = np.concatenate([test for _, test in splits])
    return fold_estimators, np.concatenate(fold_proba), test_rows


def final_estimator(estimator):
    """The classifier behind :class:`~sklearn.frozen.FrozenEstimator` and pipeline wrappers."""
    while True:
        if isinstance(estimator, FrozenEstimator):
            estimator = estimator.estimator
        elif isinstance(estimator, Pipeline):
            estimator = estimator[-1]
        else:
            return estimator
