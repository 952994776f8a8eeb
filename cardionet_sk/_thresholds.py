"""Per-class decision thresholds tuned on out-of-fold probabilities."""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.stats
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
    clone,
)
from sklearn.model_selection import (
    KFold,
    ShuffleSplit,
    StratifiedKFold,
    StratifiedShuffleSplit,
    check_cv,
)
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, RealNotInt, StrOptions
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    process_routing,
)
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_method_params,
    check_is_fitted,
    indexable,
)

from ._validation import check_multilabel_y, check_thresholds

_OBJECTIVES = {
    "f1",
    "fbeta",
    "youden",
    "balanced_accuracy",
    "mcc",
    "specificity_at_sensitivity",
}

# Kept for a class whose tuning labels are all equal: no threshold can be scored.
_FALLBACK_THRESHOLD = 0.5


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


def _positive_proba(estimator, X, n_classes):
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

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
    """
    proba = estimator.predict_proba(X)
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
    fit_params = _check_method_params(X, params=fit_params, indices=train)
    estimator.fit(_safe_indexing(X, train), _safe_indexing(y, train), **fit_params)
    return estimator, _positive_proba(estimator, _safe_indexing(X, test), n_classes)


def _candidate_scores(
    y_true, proba, candidates, objective, beta, min_sensitivity, confidence_level
):
    """Objective reached by ``proba >= t`` for each candidate ``t`` of one label.

    ``y_true`` must hold both values; ``min_sensitivity`` is this label's.
    """
    if callable(objective):
        return np.array(
            [objective(y_true, (proba >= t).astype(np.int64)) for t in candidates],
            dtype=np.float64,
        )
    positives = np.sort(proba[y_true == 1])
    negatives = np.sort(proba[y_true == 0])
    # searchsorted counts the probabilities below each threshold, which are
    # the ones predicted negative: one pass over sorted arrays per label
    # instead of one confusion matrix per candidate.
    tp = (positives.size - np.searchsorted(positives, candidates)).astype(np.float64)
    fp = (negatives.size - np.searchsorted(negatives, candidates)).astype(np.float64)
    fn, tn = positives.size - tp, negatives.size - fp
    sensitivity, specificity = tp / positives.size, tn / negatives.size
    if objective in ("f1", "fbeta"):
        beta2 = 1.0 if objective == "f1" else beta**2
        return (1 + beta2) * tp / ((1 + beta2) * tp + beta2 * fn + fp)
    if objective == "youden":
        return sensitivity + specificity - 1
    if objective == "balanced_accuracy":
        return (sensitivity + specificity) / 2
    if objective == "mcc":
        denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        # Zero when a margin is empty, as sklearn.metrics.matthews_corrcoef.
        return np.divide(
            tp * tn - fp * fn,
            denominator,
            out=np.zeros_like(denominator),
            where=denominator > 0,
        )
    if confidence_level is not None:
        # One-sided Clopper-Pearson lower bound: the sensitivity that new data drawn
        # like the tuning data reaches with probability confidence_level.
        with np.errstate(invalid="ignore"):
            bound = scipy.stats.beta.ppf(1 - confidence_level, tp, fn + 1)
        sensitivity = np.where(tp > 0, bound, 0.0)
    return np.where(sensitivity >= min_sensitivity, specificity, -np.inf)


class ThresholdOptimizer(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Multi-label classifier that tunes one decision threshold per class.

    The wrapped classifier's probabilities are turned into labels with
    ``proba >= thresholds_``, one threshold per class, chosen to maximise an
    objective on probabilities the classifier gave to samples it was not
    trained on: pooled out-of-fold probabilities of a cross-validation, or the
    probabilities of an already fitted classifier on the data passed to
    :meth:`fit`.

    Parameters
    ----------
    estimator : estimator instance
        Classifier with ``predict_proba``, fitted or not. Its multi-label
        probabilities may be an ``(n_samples, n_classes)`` array or a list of
        ``n_classes`` arrays of shape ``(n_samples, 2)``; on a 1-D ``y`` they
        are the binary ``(n_samples, 2)`` array.

    objective : {"f1", "fbeta", "youden", "balanced_accuracy", "mcc", \
            "specificity_at_sensitivity"} or callable, default="f1"
        Quantity maximised for each class, on that class's 0/1 column:

        - ``"f1"``: F1 score;
        - ``"fbeta"``: F-beta score with ``beta``;
        - ``"youden"``: Youden's J, sensitivity + specificity - 1;
        - ``"balanced_accuracy"``: (sensitivity + specificity) / 2, an affine
          function of Youden's J, so it selects the same thresholds;
        - ``"mcc"``: Matthews correlation coefficient;
        - ``"specificity_at_sensitivity"``: specificity, among the thresholds
          whose sensitivity is at least ``min_sensitivity`` (or whose lower
          confidence bound is, with ``confidence_level``);
        - callable: ``objective(y_true, y_pred) -> float`` on one class's 0/1
          columns, e.g. :func:`sklearn.metrics.precision_score`. It is called
          once per candidate threshold; see ``thresholds``.

    beta : float, default=1.0
        Weight of recall against precision. Only used with ``"fbeta"``.

    min_sensitivity : float or array-like of shape (n_classes,), default=None
        Lowest sensitivity (recall) allowed, for all classes or for each.
        Required by ``"specificity_at_sensitivity"``, ignored otherwise.

    confidence_level : float in (0, 1) or None, default=None
        With ``"specificity_at_sensitivity"``, hold ``min_sensitivity`` with
        this confidence instead of on the tuning data only: a threshold
        qualifies when the one-sided Clopper-Pearson lower bound of its
        sensitivity reaches ``min_sensitivity``. A threshold tuned on the point
        estimate alone leaves new data below ``min_sensitivity`` about half of
        the time; 0.95 makes that about one time in twenty, for data drawn
        like the tuning data. Ignored by the other objectives.

    thresholds : int, array-like or None, default=None
        Candidate thresholds of each class:

        - ``None``: every distinct out-of-fold probability of the class, which
          finds the exact optimum on the tuning data;
        - int: that many values evenly spaced between the smallest and largest
          out-of-fold probability of the class, cheaper with a callable
          ``objective`` on large data;
        - array-like: these values for every class.

    cv : int, float, cross-validation generator, iterable or "prefit", \
            default=5
        Where the probabilities used for tuning come from:

        - ``None`` or int: that many folds (5 for ``None``), shuffled with
          ``random_state``, of a :class:`~sklearn.model_selection.KFold` for
          multi-label ``y``, which cannot be stratified, and of a
          :class:`~sklearn.model_selection.StratifiedKFold` for a single label;
        - float in (0, 1): a single random split holding out that fraction,
          stratified for a single label;
        - a splitter or an iterable of ``(train, test)`` index arrays: the
          probabilities of every test part, pooled;
        - ``"prefit"``: ``estimator`` is already fitted and the data passed
          to :meth:`fit` is held-out data used only for tuning.

    refit : bool, default=True
        Whether to fit ``estimator`` on all the data passed to :meth:`fit`
        once the thresholds are known. ``False`` keeps the classifier fitted
        on the training part of ``cv``, which must then have a single split:
        with a float ``cv``, a network is trained once instead of twice.
        Ignored when ``cv="prefit"``: ``estimator`` is used as it is.

    random_state : int, RandomState instance or None, default=None
        Shuffling of the splits when ``cv`` is ``None``, an int or a float.
        See :term:`Glossary <random_state>`.

    n_jobs : int, default=None
        Number of folds fitted in parallel. ``None`` means 1 unless in a
        :obj:`joblib.parallel_backend` context. ``-1`` means all processors.
        See :term:`Glossary <n_jobs>`.

    Attributes
    ----------
    estimator_ : estimator instance
        The classifier used by :meth:`predict`; ``estimator`` itself when
        ``cv="prefit"``.

    thresholds_ : ndarray of shape (n_classes,)
        Decision threshold of each class, one value for a 1-D ``y``.

    best_scores_ : ndarray of shape (n_classes,)
        Objective reached by each threshold on the tuning data; NaN for a
        class that kept the fallback threshold.

    classes_ : ndarray of shape (n_classes,)
        Class names: the columns of a DataFrame ``y``, else the estimator's
        ``classes_`` when it holds one string per class, else
        ``0 .. n_classes - 1``. ``[0, 1]`` for a 1-D ``y``.

    n_features_in_ : int
        Number of features seen during :term:`fit`. Only defined if the
        underlying estimator exposes such an attribute when fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Only defined if the
        underlying estimator exposes such an attribute when fit.

    See Also
    --------
    sklearn.model_selection.TunedThresholdClassifierCV : One threshold for a
        binary classifier, tuned on cross-validation curves averaged over
        folds.
    CardioNetClassifier : Multi-label ECG classifier whose fixed
        ``threshold`` can be set from ``thresholds_``.

    Notes
    -----
    Thresholds are searched on the pooled out-of-fold probabilities, not on
    an average of per-fold curves as in
    :class:`~sklearn.model_selection.TunedThresholdClassifierCV`: a rare class
    then contributes all its positives to one curve instead of a handful to
    each fold's.

    Among candidates with the best objective the lowest threshold is kept,
    the one with the highest sensitivity. With ``thresholds=None`` the
    threshold is an observed probability, so ``proba >= thresholds_``
    reproduces the tuned predictions exactly.

    A class whose tuning labels are all 0 or all 1 keeps the threshold 0.5,
    with a :class:`UserWarning`: no threshold can be scored on it.

    Objectives ignore sample weights, which are only passed on to
    ``estimator.fit`` through metadata routing.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.multioutput import MultiOutputClassifier
    >>> from cardionet_sk import ThresholdOptimizer
    >>> X, y = make_multilabel_classification(n_samples=200, n_classes=3,
    ...                                       random_state=0)
    >>> clf = ThresholdOptimizer(MultiOutputClassifier(LogisticRegression()),
    ...                          objective="youden", random_state=0).fit(X, y)
    >>> clf.thresholds_.round(2)
    array([0.56, 0.49, 0.45])
    >>> clf.predict(X[:2])
    array([[0, 1, 0],
           [0, 1, 1]])
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "objective": [StrOptions(_OBJECTIVES), callable],
        "beta": [Interval(Real, 0, None, closed="neither")],
        "min_sensitivity": [Interval(Real, 0, 1, closed="both"), "array-like", None],
        "confidence_level": [Interval(Real, 0, 1, closed="neither"), None],
        "thresholds": [Interval(Integral, 2, None, closed="left"), "array-like", None],
        "cv": [
            "cv_object",
            StrOptions({"prefit"}),
            Interval(RealNotInt, 0.0, 1.0, closed="neither"),
        ],
        "refit": ["boolean"],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        estimator,
        *,
        objective="f1",
        beta=1.0,
        min_sensitivity=None,
        confidence_level=None,
        thresholds=None,
        cv=5,
        refit=True,
        random_state=None,
        n_jobs=None,
    ):
        self.estimator = estimator
        self.objective = objective
        self.beta = beta
        self.min_sensitivity = min_sensitivity
        self.confidence_level = confidence_level
        self.thresholds = thresholds
        self.cv = cv
        self.refit = refit
        self.random_state = random_state
        self.n_jobs = n_jobs

    @_fit_context(
        # ThresholdOptimizer.estimator is not validated yet
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, **params):
        """Fit the classifier and tune the threshold of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training data, as accepted by ``estimator``; held-out tuning data
            when ``cv="prefit"``.

        y : array-like or DataFrame of shape (n_samples, n_classes) or (n_samples,)
            0/1 indicator matrix, or a 0/1 vector for a binary problem.

        **params : dict
            Metadata routed to ``estimator.fit`` and to the splitter's
            ``split``. Only available with ``enable_metadata_routing=True``;
            see the :ref:`User Guide <metadata_routing>`.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        _raise_for_params(params, self, "fit")
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X, y = indexable(X, y)
        y_indicator, class_names = check_multilabel_y(y)
        n_classes = y_indicator.shape[1]
        self._binary = np.ndim(y) == 1
        # Checked before any fitting, which may take hours for a network.
        min_sensitivity = self._check_min_sensitivity(n_classes)
        routed_params = process_routing(self, "fit", **params)

        if isinstance(self.cv, str):  # "prefit", the only string cv allowed
            check_is_fitted(self.estimator)
            self.estimator_ = self.estimator
            proba = _positive_proba(self.estimator_, X, n_classes)
        else:
            # A single label is stratified on, whether y is a vector or a column.
            split_y = y_indicator[:, 0] if n_classes == 1 else y_indicator
            cv = self._check_cv(n_classes)
            splits = list(cv.split(X, split_y, **routed_params.splitter.split))
            if not self.refit and len(splits) > 1:
                raise ValueError(
                    f"refit=False needs a cv with a single split; got {len(splits)} "
                    "splits. Use refit=True to fit the estimator on all the data."
                )
            fold_estimators, fold_proba = zip(
                *Parallel(n_jobs=self.n_jobs)(
                    delayed(_fit_and_predict_proba)(
                        clone(self.estimator),
                        X,
                        y,
                        train,
                        test,
                        n_classes,
                        routed_params.estimator.fit,
                    )
                    for train, test in splits
                )
            )
            proba = np.concatenate(fold_proba)
            y_indicator = y_indicator[np.concatenate([test for _, test in splits])]
            if self.refit:
                self.estimator_ = clone(self.estimator).fit(X, y, **routed_params.estimator.fit)
            else:
                self.estimator_ = fold_estimators[0]

        self.classes_ = self._class_names(class_names, n_classes)
        self.thresholds_, self.best_scores_ = self._tune(y_indicator, proba, min_sensitivity)
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        return self

    def _check_cv(self, n_classes):
        # Stratified splitters, check_cv's choice for classifiers, reject
        # multi-label y: they are kept for a single label.
        if isinstance(self.cv, RealNotInt):
            splitter = StratifiedShuffleSplit if n_classes == 1 else ShuffleSplit
            return splitter(n_splits=1, test_size=self.cv, random_state=self.random_state)
        if self.cv is None or isinstance(self.cv, Integral):
            splitter = StratifiedKFold if n_classes == 1 else KFold
            return splitter(
                n_splits=5 if self.cv is None else self.cv,
                shuffle=True,
                random_state=self.random_state,
            )
        return check_cv(self.cv)

    def _class_names(self, class_names, n_classes):
        if self._binary:
            return np.array([0, 1])
        if class_names is not None:
            return class_names
        estimator_classes = getattr(self.estimator_, "classes_", None)
        if (
            isinstance(estimator_classes, np.ndarray)
            and estimator_classes.shape == (n_classes,)
            and all(isinstance(name, str) for name in estimator_classes)
        ):
            return estimator_classes
        return np.arange(n_classes)

    def _check_min_sensitivity(self, n_classes):
        if self.objective != "specificity_at_sensitivity":
            return np.full(n_classes, np.nan)
        if self.min_sensitivity is None:
            raise ValueError("objective='specificity_at_sensitivity' needs min_sensitivity.")
        return check_thresholds(self.min_sensitivity, n_classes, name="min_sensitivity")

    def _tune(self, y, proba, min_sensitivity):
        """Best threshold and objective of each label on the tuning data."""
        n_classes = y.shape[1]
        label_names = self.classes_[1:] if self._binary else self.classes_

        thresholds = np.full(n_classes, _FALLBACK_THRESHOLD)
        best_scores = np.full(n_classes, np.nan)
        for j, name in enumerate(label_names):
            y_j, proba_j = y[:, j], proba[:, j]
            if y_j.min() == y_j.max():
                warnings.warn(
                    f"Class '{name}' has only {'positive' if y_j[0] else 'negative'} "
                    f"examples in the tuning data, so no threshold can be tuned; it "
                    f"keeps the threshold {_FALLBACK_THRESHOLD}.",
                    UserWarning,
                    stacklevel=2,
                )
                continue
            if self.thresholds is None:
                candidates = np.unique(proba_j)
            elif isinstance(self.thresholds, Integral):
                candidates = np.linspace(proba_j.min(), proba_j.max(), self.thresholds)
            else:
                candidates = np.unique(np.asarray(self.thresholds, dtype=np.float64))
            scores = _candidate_scores(
                y_j,
                proba_j,
                candidates,
                self.objective,
                self.beta,
                min_sensitivity[j],
                self.confidence_level,
            )
            # Candidates are ascending, so argmax keeps the lowest of tied ones.
            best = np.argmax(scores)
            if np.isneginf(scores[best]):
                raise ValueError(
                    f"No candidate threshold reaches sensitivity {min_sensitivity[j]}"
                    + (
                        ""
                        if self.confidence_level is None
                        else f" with confidence {self.confidence_level}"
                    )
                    + f" for class '{name}'; its lowest candidate is {candidates[0]}. "
                    "Add lower values to thresholds, or gather more positive examples."
                )
            thresholds[j], best_scores[j] = candidates[best], scores[best]
        return thresholds, best_scores

    def predict_proba(self, X):
        """Probability of each class, as given by the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples, as accepted by ``estimator.predict_proba``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or (n_samples, 2)
            Probability of each class being present; the estimator's binary
            ``(n_samples, 2)`` probabilities for a 1-D ``y``.
        """
        check_is_fitted(self)
        if self._binary:
            return self.estimator_.predict_proba(X)
        return _positive_proba(self.estimator_, X, len(self.thresholds_))

    def predict(self, X):
        """Labels of each sample: probabilities at or above ``thresholds_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples, as accepted by ``estimator.predict_proba``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_classes) or (n_samples,)
            0/1 indicator matrix, or a 0/1 vector for a 1-D ``y``.
        """
        check_is_fitted(self)
        proba = _positive_proba(self.estimator_, X, len(self.thresholds_))
        y_pred = (proba >= self.thresholds_).astype(np.int64)
        return y_pred[:, 0] if self._binary else y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.multi_label = True
        tags.target_tags.multi_output = True
        # X reaches the estimator untouched, so it accepts what the estimator does.
        tags.input_tags = get_tags(self.estimator).input_tags
        return tags

    def get_metadata_routing(self):
        """Get metadata routing of this object.

        Please check :ref:`User Guide <metadata_routing>` on how the routing
        mechanism works.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating routing information.
        """
        return (
            MetadataRouter(owner=self)
            .add(
                estimator=self.estimator,
                method_mapping=MethodMapping().add(callee="fit", caller="fit"),
            )
            .add(
                splitter=self.cv,
                method_mapping=MethodMapping().add(callee="split", caller="fit"),
            )
        )
