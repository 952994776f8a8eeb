"""ThresholdOptimizer: a classifier whose per-class thresholds are tuned on held-out data."""

from numbers import Integral

from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import (
    KFold,
    ShuffleSplit,
    StratifiedKFold,
    StratifiedShuffleSplit,
    check_cv,
)
from sklearn.utils.validation import check_is_fitted

from ._compat import HasMethods, Interval, RealNotInt, StrOptions, fit_context
from ._multilabel_meta import MultilabelMetaClassifier
from ._response import out_of_fold_proba, positive_proba
from ._thresholds import (
    TUNING_CONSTRAINTS,
    apply_thresholds,
    check_min_sensitivity,
    tune_thresholds,
)


class ThresholdOptimizer(MultilabelMetaClassifier):
    """Multi-label classifier that tunes one decision threshold per class.

    The wrapped classifier's probabilities are turned into labels with
    ``proba >= thresholds_``, one threshold per class, chosen by
    :func:`tune_thresholds` to maximise an objective on probabilities the
    classifier gave to samples it was not trained on: pooled out-of-fold
    probabilities of a cross-validation, or the probabilities of an already
    fitted classifier on the data passed to :meth:`fit`.

    Parameters
    ----------
    estimator : estimator instance
        Classifier with ``predict_proba``, fitted or not, or a fitted one
        wrapped in :class:`~sklearn.frozen.FrozenEstimator`; see ``cv``. Its
        multi-label probabilities may be an ``(n_samples, n_classes)`` array
        or a list of ``n_classes`` arrays of shape ``(n_samples, 2)``; on a
        1-D ``y`` they are the binary ``(n_samples, 2)`` array.

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

        An ``estimator`` wrapped in :class:`~sklearn.frozen.FrozenEstimator`
        is treated as with ``"prefit"``, whatever ``cv``: it is not fitted
        again, and all the data passed to :meth:`fit` is used for tuning, as
        :class:`~sklearn.calibration.CalibratedClassifierCV` uses all of it
        for calibration. Splitting would only discard data, since no fold
        trains anything. Keep that data apart from the estimator's training
        data.

    refit : bool, default=True
        Whether to fit ``estimator`` on all the data passed to :meth:`fit`
        once the thresholds are known. ``False`` keeps the classifier fitted
        on the training part of ``cv``, which must then have a single split:
        with a float ``cv``, a network is trained once instead of twice.
        Ignored when ``cv="prefit"`` or with a
        :class:`~sklearn.frozen.FrozenEstimator`: ``estimator`` is used as it
        is.

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
        ``cv="prefit"`` or when it is a :class:`~sklearn.frozen.FrozenEstimator`.

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
    tune_thresholds : The threshold search, on probabilities computed once.
    apply_thresholds : Labels from probabilities and per-class thresholds.
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

    Ties and classes whose tuning labels are all 0 or all 1 are handled as
    in :func:`tune_thresholds`: the lowest of the best thresholds is kept,
    and such a class keeps the threshold 0.5, with a :class:`UserWarning`.

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
        **TUNING_CONSTRAINTS,
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

    @fit_context(
        # ThresholdOptimizer.estimator is not validated yet
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, **params):
        """Fit the classifier and tune the threshold of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training data, as accepted by ``estimator``; held-out tuning data
            when ``cv="prefit"`` or with a
            :class:`~sklearn.frozen.FrozenEstimator`.

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
        X, y, y_indicator, class_names, routed_params = self._check_target(X, y, params)
        n_classes = y_indicator.shape[1]
        # Checked before any fitting, which may take hours for a network.
        check_min_sensitivity(self.objective, self.min_sensitivity, n_classes)

        # "prefit" is the only string cv allowed.
        if isinstance(self.cv, str) or isinstance(self.estimator, FrozenEstimator):
            check_is_fitted(self.estimator)
            self.estimator_ = self.estimator
            proba = positive_proba(self.estimator_, X, n_classes)
        else:
            proba, tuned_rows = self._fit_out_of_fold(X, y, y_indicator, routed_params)
            y_indicator = y_indicator[tuned_rows]

        self.classes_ = self._class_names(self.estimator_, class_names, n_classes)
        self.thresholds_, self.best_scores_ = tune_thresholds(
            y_indicator,
            proba,
            objective=self.objective,
            beta=self.beta,
            min_sensitivity=self.min_sensitivity,
            confidence_level=self.confidence_level,
            thresholds=self.thresholds,
            # A 1-D y has classes [0, 1] and one threshold, that of class 1.
            class_names=self.classes_[1:] if self._binary else self.classes_,
        )
        self._copy_input_attributes(self.estimator_)
        return self

    def _fit_out_of_fold(self, X, y, y_indicator, routed_params):
        """Fit ``estimator_`` and return the out-of-fold probabilities and their rows."""
        n_classes = y_indicator.shape[1]
        # A single label is stratified on, whether y is a vector or a column.
        split_y = y_indicator[:, 0] if n_classes == 1 else y_indicator
        cv = self._check_cv(n_classes)
        splits = list(cv.split(X, split_y, **routed_params.splitter.split))
        if not self.refit and len(splits) > 1:
            raise ValueError(
                f"refit=False needs a cv with a single split; got {len(splits)} "
                "splits. Use refit=True to fit the estimator on all the data."
            )
        fold_estimators, proba, tuned_rows = out_of_fold_proba(
            self.estimator,
            X,
            y,
            splits,
            n_classes,
            routed_params.estimator.fit,
            n_jobs=self.n_jobs,
        )
        if self.refit:
            self.estimator_ = clone(self.estimator).fit(X, y, **routed_params.estimator.fit)
        else:
            self.estimator_ = fold_estimators[0]
        return proba, tuned_rows

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
        return positive_proba(self.estimator_, X, len(self.thresholds_))

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
        proba = positive_proba(self.estimator_, X, len(self.thresholds_))
        return apply_thresholds(proba[:, 0] if self._binary else proba, self.thresholds_)
