"""ThresholdOptimizer: one tuned decision threshold per class of a multi-label classifier."""

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
    clone,
)
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, check_cv
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._validation import check_multilabel_y

OBJECTIVES = ("f1", "fbeta", "youden", "balanced_accuracy", "mcc", "specificity_at_sensitivity")


class ThresholdOptimizer(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Tune one decision threshold per class of a multi-label (or binary) classifier.

    scikit-learn's :class:`~sklearn.model_selection.TunedThresholdClassifierCV`
    tunes a single threshold of a binary classifier; this meta-estimator tunes
    one per label, each on out-of-fold probabilities, for any estimator with
    ``predict_proba``.

    Parameters
    ----------
    estimator : estimator object
        A classifier implementing ``fit`` and ``predict_proba``, multi-label
        (``predict_proba`` an ``(n, k)`` array as :class:`CardioNetClassifier`
        or :class:`~sklearn.neural_network.MLPClassifier` give, or a list of
        ``k`` arrays ``(n, 2)`` as
        :class:`~sklearn.multioutput.MultiOutputClassifier` or
        :class:`~sklearn.neighbors.KNeighborsClassifier` give) or binary.
    objective : str or callable, default="f1"
        What each class's threshold maximises on the out-of-fold data:

        - ``"f1"``; ``"fbeta"`` (with ``beta``);
        - ``"youden"``: Youden's J, sensitivity + specificity - 1;
        - ``"balanced_accuracy"``; ``"mcc"``: Matthews correlation;
        - ``"specificity_at_sensitivity"``: the highest specificity among the
          thresholds whose sensitivity is at least ``min_sensitivity``;
        - a callable ``(y_true, y_pred) -> float`` on one class's 0/1 column
          (evaluated on at most ``n_thresholds`` candidate thresholds).
    beta : float, default=1.0
        Weight of recall for ``objective="fbeta"``.
    min_sensitivity : float or array-like of shape (n_classes,), default=None
        Required for ``"specificity_at_sensitivity"``: the sensitivity (recall)
        each class must keep.
    cv : int, float, cross-validation generator, iterable or "prefit", default=5
        How out-of-fold probabilities are obtained:

        - an int: that many folds, :class:`~sklearn.model_selection.KFold` with
          shuffling for multi-label ``y`` (stratification is undefined for it),
          :class:`~sklearn.model_selection.StratifiedKFold` for a single label
          (as scikit-learn does for binary problems);
        - a float in (0, 1): one random split holding out that fraction, which
          costs a single extra fit of an expensive network;
        - a splitter or an iterable of (train, test) indices;
        - ``"prefit"``: ``estimator`` is already fitted and the data given to
          :meth:`fit` is held-out data used only to tune.
    refit : bool, default=True
        Refit ``estimator`` on all the data after tuning. With ``False`` the
        model of the single split is kept (``cv`` must give exactly one split).
        Ignored with ``cv="prefit"``.
    n_thresholds : int, default=1000
        For a callable objective, the number of candidate thresholds (quantiles
        of the out-of-fold probabilities). Built-in objectives evaluate every
        distinct probability.
    random_state : int, RandomState instance or None, default=None
        Shuffling of an int or float ``cv``.
    n_jobs : int, default=None
        Folds fitted in parallel.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted estimator that :meth:`predict_proba` and :meth:`predict` use.
    thresholds_ : ndarray of shape (n_classes,)
        Tuned threshold per class (one value for a binary problem). Each is the
        midpoint between the out-of-fold probability that maximises the
        objective and the next lower one, so that the tuning data are
        classified exactly as during the search; ties go to the higher
        threshold.
    best_scores_ : ndarray of shape (n_classes,)
        The objective at each tuned threshold (NaN for a class that could not
        be tuned).
    classes_ : ndarray
        Class names: the columns of a DataFrame ``y``, else the estimator's
        ``classes_`` when they are ``n_classes`` names, else ``0 .. n_classes-1``;
        ``[0, 1]`` for a binary problem.

    Notes
    -----
    A class whose tuning data hold no positive or no negative record cannot be
    tuned: it keeps the threshold 0.5 and a ``UserWarning`` names it.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.multioutput import MultiOutputClassifier
    >>> from cardionet_sk import ThresholdOptimizer
    >>> X, y = make_multilabel_classification(n_samples=300, n_classes=3, random_state=0)
    >>> opt = ThresholdOptimizer(MultiOutputClassifier(LogisticRegression(max_iter=500)),
    ...                          cv=3, random_state=0).fit(X, y)
    >>> opt.thresholds_.shape
    (3,)
    >>> opt.predict(X[:2]).shape
    (2, 3)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "objective": [StrOptions(set(OBJECTIVES)), callable],
        "beta": [Interval(numbers.Real, 0, None, closed="neither")],
        "min_sensitivity": [Interval(numbers.Real, 0, 1, closed="both"), "array-like", None],
        "cv": ["cv_object", StrOptions({"prefit"}), Interval(numbers.Real, 0, 1, closed="neither")],
        "refit": ["boolean"],
        "n_thresholds": [Interval(numbers.Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(
        self,
        estimator,
        *,
        objective="f1",
        beta=1.0,
        min_sensitivity=None,
        cv=5,
        refit=True,
        n_thresholds=1000,
        random_state=None,
        n_jobs=None,
    ):
        self.estimator = estimator
        self.objective = objective
        self.beta = beta
        self.min_sensitivity = min_sensitivity
        self.cv = cv
        self.refit = refit
        self.n_thresholds = n_thresholds
        self.random_state = random_state
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Tune the thresholds on out-of-fold probabilities, then refit.

        Parameters
        ----------
        X : array-like
            Training data, in whatever form ``estimator`` takes (ECG records
            for :class:`CardioNetClassifier`).
        y : array-like or DataFrame of shape (n_samples, n_classes) or (n_samples,)
            0/1 label indicator matrix, or a binary 0/1 vector.
        **fit_params : dict
            Passed to ``estimator.fit``.

        Returns
        -------
        self : ThresholdOptimizer
            The fitted meta-estimator.
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        self._binary = np.asarray(y).ndim == 1
        y_matrix, names = check_multilabel_y(y)
        n_classes = y_matrix.shape[1]
        min_sensitivity = self._check_min_sensitivity(n_classes)
        if self.cv == "prefit":
            check_is_fitted(self.estimator)
            self.estimator_ = self.estimator
            proba, y_tune = self._positive_proba(self.estimator, X, n_classes), y_matrix
        else:
            if sp.issparse(X):
                # Formats such as DIA cannot be indexed by row.
                X = X.tocsr()
            # One label is stratified on, whether y came as a vector or a column.
            target = y_matrix[:, 0] if n_classes == 1 else y_matrix
            splits = list(self._splitter(target).split(X, target))
            if not self.refit and len(splits) != 1:
                raise ValueError(
                    f"refit=False keeps the model of a single split, but cv gives {len(splits)} "
                    "splits: use a float cv (a held-out fraction) or a single-split splitter."
                )
            fitted = Parallel(n_jobs=self.n_jobs)(
                delayed(_fit_and_predict)(
                    self, clone(self.estimator), X, y, train, test, n_classes, fit_params
                )
                for train, test in splits
            )
            test_rows = np.concatenate([test for _, test in splits])
            proba = np.concatenate([p for _, p in fitted])
            y_tune = y_matrix[test_rows]
            self.estimator_ = (
                clone(self.estimator).fit(X, y, **fit_params) if self.refit else fitted[0][0]
            )
        self.classes_ = self._class_names(names, n_classes)
        self.thresholds_ = np.full(n_classes, 0.5)
        self.best_scores_ = np.full(n_classes, np.nan)
        for k in range(n_classes):
            positives = int(y_tune[:, k].sum())
            if positives in (0, len(y_tune)):
                warnings.warn(
                    f"Class {self.classes_[-1] if self._binary else self.classes_[k]} has "
                    f"{'no positive' if positives == 0 else 'no negative'} record in the tuning "
                    "data: its threshold cannot be tuned and stays 0.5.",
                    UserWarning,
                    stacklevel=2,
                )
                continue
            self.thresholds_[k], self.best_scores_[k] = self._tune(
                y_tune[:, k], proba[:, k], None if min_sensitivity is None else min_sensitivity[k]
            )
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def _check_min_sensitivity(self, n_classes):
        if self.objective != "specificity_at_sensitivity":
            return None
        if self.min_sensitivity is None:
            raise ValueError(
                "objective='specificity_at_sensitivity' needs min_sensitivity, the recall "
                "each class must keep (a number or one per class)."
            )
        values = np.broadcast_to(np.asarray(self.min_sensitivity, dtype=float), (n_classes,))
        if not np.all((values >= 0) & (values <= 1)):
            raise ValueError(f"min_sensitivity must lie in [0, 1]; got {values.tolist()}.")
        return values

    def _splitter(self, y):
        if isinstance(self.cv, numbers.Real) and not isinstance(self.cv, numbers.Integral):
            return ShuffleSplit(n_splits=1, test_size=self.cv, random_state=self.random_state)
        if isinstance(self.cv, numbers.Integral):
            if y.ndim == 1:
                return StratifiedKFold(self.cv)
            return KFold(self.cv, shuffle=True, random_state=self.random_state)
        return check_cv(self.cv, y, classifier=True)

    def _class_names(self, names, n_classes):
        if self._binary:
            return np.array([0, 1])
        if names is not None:
            return names
        estimator_classes = getattr(self.estimator_, "classes_", None)
        if (
            isinstance(estimator_classes, np.ndarray)
            and estimator_classes.shape == (n_classes,)
            and estimator_classes.dtype.kind in "OUS"
        ):
            return estimator_classes
        return np.arange(n_classes)

    def _positive_proba(self, estimator, X, n_classes):
        """Probability of the positive value of each label, as an (n_samples, n_classes) array.

        Multi-label estimators report it in one of two ways: an (n, k) array, or a list of k
        arrays (n, 2) (n, 1 where a label took one value only in training). Binary ones give
        (n, 2).
        """
        proba = estimator.predict_proba(X)
        if isinstance(proba, list):
            columns = []
            for j, p in enumerate(proba):
                if p.shape[1] == 1:
                    # Only one value was seen for this label: it is certain.
                    seen = np.ravel(estimator.classes_[j])[0]
                    columns.append(np.full(len(p), float(seen == 1)))
                else:
                    columns.append(p[:, -1])
            proba = np.column_stack(columns)
        proba = np.asarray(proba, dtype=float)
        if self._binary or (n_classes == 1 and proba.shape[1] == 2):
            return proba[:, -1:] if proba.ndim == 2 else proba[:, np.newaxis]
        if proba.shape[1] != n_classes:
            raise ValueError(
                f"{type(estimator).__name__}.predict_proba gives {proba.shape[1]} columns for "
                f"{n_classes} classes."
            )
        return proba

    def _tune(self, y_true, score, min_sensitivity):
        """The best threshold of one class and the objective there."""
        order = np.argsort(-score, kind="mergesort")
        score, y_true = score[order], y_true[order]
        # Last position of each distinct score: predicting score >= t for each candidate t.
        last = np.flatnonzero(np.r_[np.diff(score) != 0, True])
        candidates = score[last]
        if callable(self.objective):
            if len(candidates) > self.n_thresholds:
                picked = np.unique(
                    np.quantile(
                        np.arange(len(candidates)), np.linspace(0, 1, self.n_thresholds)
                    ).astype(int)
                )
                last, candidates = last[picked], candidates[picked]
            values = np.array(
                [self.objective(y_true, (score >= t).astype(int)) for t in candidates]
            )
        else:
            tp = np.cumsum(y_true)[last].astype(float)
            fp = (last + 1) - tp
            positives, negatives = y_true.sum(), len(y_true) - y_true.sum()
            fn, tn = positives - tp, negatives - fp
            values = _objective_from_counts(
                self.objective, tp, fp, fn, tn, beta=self.beta, min_sensitivity=min_sensitivity
            )
        best = int(np.argmax(values))
        lower = score[last[best] + 1] if last[best] + 1 < len(score) else candidates[best] / 2
        return float((candidates[best] + lower) / 2), float(values[best])

    def predict_proba(self, X):
        """Probabilities of the fitted estimator.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), or (n_samples, 2) if binary
            The positive-class probability of each label (lists of per-label
            arrays are stacked into one array).
        """
        check_is_fitted(self, "estimator_")
        proba = self._positive_proba(self.estimator_, X, len(self.thresholds_))
        if self._binary:
            return np.column_stack([1 - proba[:, 0], proba[:, 0]])
        return proba

    def predict(self, X):
        """Labels: each class's probability at or above its tuned threshold.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_classes), or (n_samples,) if binary
        """
        check_is_fitted(self, "estimator_")
        predicted = (
            self._positive_proba(self.estimator_, X, len(self.thresholds_)) >= self.thresholds_
        ).astype(np.int64)
        return predicted[:, 0] if self._binary else predicted

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags = inner.input_tags
        tags.classifier_tags.multi_label = True
        tags.classifier_tags.multi_class = False
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.non_deterministic = inner.non_deterministic
        return tags


def _fit_and_predict(optimizer, estimator, X, y, train, test, n_classes, fit_params):
    estimator.fit(_safe_indexing(X, train), _safe_indexing(y, train), **fit_params)
    return estimator, optimizer._positive_proba(estimator, _safe_indexing(X, test), n_classes)


def _objective_from_counts(objective, tp, fp, fn, tn, *, beta, min_sensitivity):
    """A built-in objective for every candidate threshold, from its confusion counts."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sensitivity = tp / (tp + fn)
        specificity = tn / (tn + fp)
        if objective in ("f1", "fbeta"):
            b2 = 1.0 if objective == "f1" else beta**2
            values = (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp)
        elif objective == "youden":
            values = sensitivity + specificity - 1
        elif objective == "balanced_accuracy":
            values = (sensitivity + specificity) / 2
        elif objective == "mcc":
            values = (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        else:
            values = np.where(sensitivity >= min_sensitivity, specificity, -np.inf)
    return np.nan_to_num(values, nan=0.0, neginf=-np.inf)
