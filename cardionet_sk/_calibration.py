"""Per-class probability calibration of multi-label classifiers, with maps saved as numbers."""

from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.utils.validation import check_is_fitted

from ._calibration_maps import calibrate, fit_calibrators
from ._compat import HasMethods, StrOptions, fit_context
from ._multilabel_meta import MultilabelMetaClassifier
from ._response import out_of_fold_proba, positive_proba
from ._thresholds import apply_thresholds


class _CalibratedClassifier:
    """A fitted classifier and the calibrators of its probabilities, one per class."""

    def __init__(self, estimator, calibrators):
        self.estimator = estimator
        self.calibrators = calibrators

    def predict_proba(self, X):
        return calibrate(positive_proba(self.estimator, X, len(self.calibrators)), self.calibrators)


class CalibratedMultilabelClassifierCV(MultilabelMetaClassifier):
    """Calibrate the probability of each class of a multi-label classifier.

    Each class's probabilities are mapped by a function fitted on those the
    classifier gave to samples it was not trained on: each cross-validation
    test part, or all the data passed to :meth:`fit` for a classifier wrapped
    in :class:`~sklearn.frozen.FrozenEstimator`. The multi-label counterpart
    of :class:`~sklearn.calibration.CalibratedClassifierCV`, without its
    normalisation to a sum of one.

    Parameters
    ----------
    estimator : estimator instance
        Classifier with ``predict_proba``, or a fitted one wrapped in
        :class:`~sklearn.frozen.FrozenEstimator`. Its multi-label probabilities
        may be an ``(n_samples, n_classes)`` array or a list of ``n_classes``
        arrays of shape ``(n_samples, 2)``; on a 1-D ``y`` they are the binary
        ``(n_samples, 2)`` array.

    method : {"sigmoid", "isotonic", "temperature"}, default="sigmoid"
        Map fitted for each class, on its probabilities ``p`` and 0/1 labels:

        - ``"sigmoid"``: Platt scaling [1]_, a logistic regression on the logit
          ``log(p / (1 - p))`` of ``p`` clipped to ``[1e-12, 1 - 1e-12]``;
          scikit-learn fits it on the decision function, or on ``p`` itself,
          but only on the logit does it contain the identity, so a calibrated
          classifier stays nearly as it is;
        - ``"isotonic"``: isotonic regression [2]_, centred [4]_: linear from
          the centre of each of its constant blocks to the next, so that it
          rises strictly between them, instead of flat blocks joined by steep
          steps (scikit-learn's breakpoints). Flexible, but it overfits small
          calibration sets;
        - ``"temperature"``: temperature scaling [3]_, ``expit(logit(p) / t)``
          with one ``t > 0`` per class minimising the log loss. It keeps the
          order of the probabilities, hence each class's ROC AUC.

    cv : int, cross-validation generator or iterable, default=None
        Where the probabilities used for calibration come from:

        - ``None`` or int: that many folds (5 for ``None``) of a
          :class:`~sklearn.model_selection.KFold` for multi-label ``y``, which
          cannot be stratified, and of a
          :class:`~sklearn.model_selection.StratifiedKFold` for a single label;
        - a splitter, such as :class:`~sklearn.model_selection.GroupKFold` fed
          ``groups`` (patient ids) through metadata routing, or an iterable of
          ``(train, test)`` index arrays.

        Ignored for an ``estimator`` wrapped in
        :class:`~sklearn.frozen.FrozenEstimator` (scikit-learn's replacement
        for ``cv="prefit"``): it is not fitted again, and all the data passed
        to :meth:`fit`, which must not be its training data, calibrates it.

    ensemble : bool, default=True
        With cross-validation, ``True`` keeps one pair of fitted classifier and
        calibrators per split, calibrated on its test part, and averages their
        calibrated probabilities. ``False`` fits the calibrators on the pooled
        out-of-fold probabilities and ``estimator`` once more on all the data,
        which gives a single classifier and ``calibration_maps_``.

    n_jobs : int, default=None
        Number of splits fitted in parallel. ``None`` means 1 unless in a
        :obj:`joblib.parallel_backend` context. ``-1`` means all processors.
        See :term:`Glossary <n_jobs>`.

    Attributes
    ----------
    calibrated_classifiers_ : list of objects
        One per split, or a single one with ``ensemble=False`` or a
        :class:`~sklearn.frozen.FrozenEstimator`: each has the fitted
        classifier as ``estimator`` and its per-class ``calibrators``.

    calibration_maps_ : list of dict of length n_classes
        The calibrators as plain numbers, for :func:`apply_calibration` and a
        saved model's ``config.json``. Only defined when a single classifier
        is calibrated: with a :class:`~sklearn.frozen.FrozenEstimator`,
        ``ensemble=False``, or a ``cv`` of one split.

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
    apply_calibration : Apply ``calibration_maps_`` to probabilities.
    sklearn.calibration.CalibratedClassifierCV : Binary and multi-class
        calibration.
    ThresholdOptimizer : Tunes per-class thresholds; wrap a calibrated
        classifier in it to tune them on the calibrated scale.

    Notes
    -----
    :meth:`predict` thresholds the calibrated probabilities at 0.5: a label is
    predicted where its calibrated probability is at least 0.5. Tune the
    thresholds with :class:`ThresholdOptimizer` instead where the classes'
    costs differ.

    Every class needs both label values in each part the calibrators are
    fitted on, or :meth:`fit` raises a ``ValueError``. Metadata such as
    ``sample_weight`` is routed to ``estimator.fit`` only; the calibrators
    are unweighted.

    References
    ----------
    .. [1] J. Platt, "Probabilistic outputs for support vector machines and
       comparisons to regularized likelihood methods", Advances in Large
       Margin Classifiers, 1999.
    .. [2] B. Zadrozny and C. Elkan, "Transforming classifier scores into
       accurate multiclass probability estimates", KDD, 2002.
    .. [3] C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On calibration of
       modern neural networks", ICML, 2017.
    .. [4] A. P. Oron and N. Flournoy, "Centered isotonic regression: point and
       interval estimation for dose-response studies", Statistics in
       Biopharmaceutical Research 9(3), 2017.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.multioutput import MultiOutputClassifier
    >>> from cardionet_sk import CalibratedMultilabelClassifierCV
    >>> X, y = make_multilabel_classification(n_samples=200, n_classes=3,
    ...                                       random_state=0)
    >>> clf = CalibratedMultilabelClassifierCV(
    ...     MultiOutputClassifier(LogisticRegression()), method="temperature",
    ...     cv=3, ensemble=False).fit(X, y)
    >>> clf.predict_proba(X[:2]).round(2)
    array([[0.24, 0.99, 0.32],
           [0.24, 0.97, 0.58]])

    Temperatures above 1 soften overconfident probabilities:

    >>> [round(m["t"], 2) for m in clf.calibration_maps_]
    [1.67, 1.9, 2.82]
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "method": [StrOptions({"sigmoid", "isotonic", "temperature"})],
        "cv": ["cv_object"],
        "ensemble": ["boolean"],
        "n_jobs": [Integral, None],
    }

    def __init__(self, estimator, *, method="sigmoid", cv=None, ensemble=True, n_jobs=None):
        self.estimator = estimator
        self.method = method
        self.cv = cv
        self.ensemble = ensemble
        self.n_jobs = n_jobs

    @fit_context(
        # CalibratedMultilabelClassifierCV.estimator is not validated yet
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, **params):
        """Fit the classifier and the calibrator of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training data, as accepted by ``estimator``; calibration data
            with a :class:`~sklearn.frozen.FrozenEstimator`.

        y : array-like or DataFrame of shape (n_samples, n_classes) or (n_samples,)
            0/1 indicator matrix, or a 0/1 vector for a binary problem.

        **params : dict
            Metadata routed to ``estimator.fit`` and to the splitter's
            ``split`` (e.g. ``groups``). Only available with
            ``enable_metadata_routing=True``; see the
            :ref:`User Guide <metadata_routing>`.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y, y_indicator, class_names, routed_params = self._check_target(X, y, params)
        n_classes = y_indicator.shape[1]
        names = list(class_names) if class_names is not None else list(range(n_classes))

        if isinstance(self.estimator, FrozenEstimator):
            check_is_fitted(self.estimator)
            proba = positive_proba(self.estimator, X, n_classes)
            calibrators = fit_calibrators(proba, y_indicator, self.method, names, "the data")
            pairs = [_CalibratedClassifier(self.estimator, calibrators)]
        else:
            pairs = self._fit_cross_validated(X, y, y_indicator, names, routed_params)
        self.calibrated_classifiers_ = pairs
        # A refit must not leave the maps of an earlier fit behind.
        self.__dict__.pop("calibration_maps_", None)
        if len(pairs) == 1:
            self.calibration_maps_ = [c.to_dict() for c in pairs[0].calibrators]

        estimator = pairs[0].estimator
        self.classes_ = self._class_names(estimator, class_names, n_classes)
        self._copy_input_attributes(estimator)
        return self

    def _fit_cross_validated(self, X, y, y_indicator, names, routed_params):
        """The (classifier, calibrators) pairs of a cross-validation, or its refit one."""
        n_classes = y_indicator.shape[1]
        cv = self.cv
        if cv is None or isinstance(cv, Integral):
            # Stratified splitters, check_cv's choice for classifiers, reject multi-label y.
            cv = (StratifiedKFold if n_classes == 1 else KFold)(5 if cv is None else cv)
        cv = check_cv(cv)
        # A single label is stratified on, whether y is a vector or a column.
        split_y = y_indicator[:, 0] if n_classes == 1 else y_indicator
        splits = list(cv.split(X, split_y, **routed_params.splitter.split))
        fold_estimators, proba, test_rows = out_of_fold_proba(
            self.estimator, X, y, splits, n_classes, routed_params.estimator.fit, self.n_jobs
        )
        y_test = y_indicator[test_rows]
        if not self.ensemble:
            calibrators = fit_calibrators(
                proba, y_test, self.method, names, "the out-of-fold predictions"
            )
            estimator = clone(self.estimator).fit(X, y, **routed_params.estimator.fit)
            return [_CalibratedClassifier(estimator, calibrators)]
        bounds = np.cumsum([len(test) for _, test in splits])[:-1]
        return [
            _CalibratedClassifier(
                estimator,
                fit_calibrators(p, t, self.method, names, f"the test part of split {i}"),
            )
            for i, (estimator, p, t) in enumerate(
                zip(fold_estimators, np.split(proba, bounds), np.split(y_test, bounds))
            )
        ]

    def predict_proba(self, X):
        """Calibrated probability of each class, averaged over the calibrated classifiers.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples, as accepted by ``estimator.predict_proba``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or (n_samples, 2)
            Calibrated probability of each class being present; the binary
            ``(n_samples, 2)`` array for a 1-D ``y``.
        """
        check_is_fitted(self)
        proba = np.mean([pair.predict_proba(X) for pair in self.calibrated_classifiers_], axis=0)
        if self._binary:
            return np.column_stack([1 - proba[:, 0], proba[:, 0]])
        return proba

    def predict(self, X):
        """Labels of each sample: calibrated probabilities of at least 0.5.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples, as accepted by ``estimator.predict_proba``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_classes) or (n_samples,)
            0/1 indicator matrix, or a 0/1 vector for a 1-D ``y``.
        """
        proba = self.predict_proba(X)
        return apply_thresholds(proba[:, 1] if self._binary else proba, 0.5)
