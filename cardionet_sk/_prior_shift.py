"""PriorShiftAdaptedClassifier: calibrated probabilities moved to another population's
prevalences.

A calibrated probability is a frequency among records like those it was calibrated on,
at their prevalences. :class:`PriorShiftAdaptedClassifier` estimates each class's
prevalence in a new population from its unlabelled records (:mod:`._priors`: EM or
BBSE), and corrects the probabilities and thresholds by Bayes' rule.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping, process_routing
from sklearn.utils.validation import check_is_fitted, indexable

from ._compat import (
    HasMethods,
    Interval,
    StrOptions,
    check_method_params,
    fit_context,
    raise_for_params,
    safe_indexing,
)
from ._multilabel_meta import MultilabelMetaClassifier
from ._priors import (
    bayes_adjust,
    check_priors,
    estimate_priors_bbse,
    estimate_priors_em,
    shift_test,
)
from ._response import final_estimator, positive_proba
from ._thresholds import apply_thresholds
from ._validation import check_multilabel_y, check_thresholds

#: Fewest unlabelled target records :class:`PriorShiftAdaptedClassifier` estimates from by
#: default: with 100 records the standard error of a prevalence near 0.5 is already 0.05.
MIN_TARGET_SAMPLES = 100


def _members(estimator):
    """The fitted members of an ensemble (:class:`~cardionet_sk.MultilabelVotingClassifier`)."""
    from ._ensemble import MultilabelVotingClassifier

    if isinstance(estimator, MultilabelVotingClassifier):
        return [final_estimator(m) for m in estimator.estimators_]
    return []


def _uncalibrated(estimator):
    """Names of the classifiers, ``estimator`` or its ensemble members, that apply no
    calibration maps (:class:`~cardionet_sk.CardioNetClassifier` without
    ``calibration_maps_``, or with ``calibration=False``)."""
    estimator = final_estimator(estimator)
    members = _members(estimator)
    if members:
        return [name for m in members for name in _uncalibrated(m)]
    # A CardioNetClassifier without maps, or with calibration switched off.
    if hasattr(estimator, "_calibration_maps") and estimator._calibration_maps() is None:
        config = getattr(estimator, "pretrained_config_", None)
        return [getattr(config, "name", None) or type(estimator).__name__]
    return []


def pretrained_priors(estimator):
    """The prevalences a saved model's probabilities are calibrated at, or ``None``.

    ``calibration_priors`` of a model loaded by ``from_pretrained``
    (``pretrained_config_``); for an ensemble, the weighted mean of its
    members' (its probability is the weighted mean of theirs).
    """
    estimator = final_estimator(estimator)
    members = _members(estimator)
    if members:
        each = [pretrained_priors(m) for m in members]
        if any(p is None for p in each):
            return None
        return np.average(each, axis=0, weights=estimator.weights)
    priors = getattr(getattr(estimator, "pretrained_config_", None), "calibration_priors", None)
    return None if priors is None else np.asarray(priors, dtype=np.float64)


def _own_threshold(estimator):
    """The wrapped classifier's decision thresholds: tuned ``thresholds_`` or a
    ``threshold`` parameter; ``None`` if it has neither."""
    estimator = final_estimator(estimator)
    if hasattr(estimator, "thresholds_"):
        return estimator.thresholds_
    return estimator.get_params(deep=False).get("threshold")


class PriorShiftAdaptedClassifier(MultilabelMetaClassifier):
    """Calibrated multi-label classifier adapted to the prevalences of another population.

    A calibrated probability is a frequency at the prevalences of the records
    it was calibrated on (the source). In a population where a class is
    rarer or commoner (the target), :meth:`fit` estimates each class's
    prevalence from unlabelled target records, and :meth:`predict_proba`
    moves the probabilities to it by Bayes' rule
    (:func:`adjust_probabilities`). Each class is its own binary problem. The
    classifier itself is never refitted. Named like scikit-learn's
    meta-classifiers after what it returns: a classifier, adapted to a prior
    shift (Moreno-Torres et al.'s name for a change of class frequencies
    alone).

    Parameters
    ----------
    estimator : estimator instance
        A fitted classifier with calibrated ``predict_proba`` (a
        :class:`~cardionet_sk.CardioNetClassifier` or
        :class:`~cardionet_sk.MultilabelVotingClassifier` loaded by
        ``from_pretrained``, a :class:`CalibratedMultilabelClassifierCV` ...),
        preferably wrapped in :class:`~sklearn.frozen.FrozenEstimator`; a
        fitted one is used as it is either way. Only an unfitted classifier is
        fitted, on the labelled rows of ``y``. Its multi-label probabilities
        may be an ``(n_samples, n_classes)`` array or a list of ``n_classes``
        arrays of shape ``(n_samples, 2)``.

    source_priors : "auto" or array-like of shape (n_classes,), default="auto"
        Each class's prevalence in the records the probabilities were
        calibrated on, in (0, 1). ``"auto"``: that of the labelled rows of
        ``y`` when there are any, else the ``calibration_priors`` of the model's
        saved config (``pretrained_config_``; for an ensemble, the weighted
        mean of its members').

    method : {"em", "bbse"}, default="em"
        How the target prevalences are estimated (:func:`estimate_priors_em`,
        :func:`estimate_priors_bbse`):

        - ``"em"``: the EM procedure of Saerens et al. (2002) on the calibrated
          probabilities of the target records;
        - ``"bbse"``: black-box shift estimation (Lipton et al. 2018), from
          hard predictions at the source thresholds and the confusion matrix
          of labelled source records, which ``y`` must then hold.

    threshold : "auto", float or array-like of shape (n_classes,), default="auto"
        Decision thresholds on the source scale (the wrapped classifier's
        probabilities), moved by ``threshold_rule``. ``"auto"``: the
        classifier's own, its ``thresholds_`` or ``threshold`` (0.5 if it
        has neither).

    threshold_rule : {"likelihood_ratio", "probability"}, default="likelihood_ratio"
        How :meth:`predict` decides on the adjusted scale:

        - ``"likelihood_ratio"``: each class's decision keeps its likelihood
          ratio. A threshold ``t`` is moved like a probability,
          ``thresholds_ = adjust_probabilities(t, source, target)``, so that
          ``predict_proba(X) >= thresholds_`` exactly when the classifier's
          own probability reaches ``t``: the labels do not change, and
          neither do the sensitivity and specificity measured on the source,
          since prior shift leaves each class's records alike. Precision
          (PPV) and F1 do change with the prevalence.
        - ``"probability"``: ``thresholds_ = threshold`` on the adjusted
          scale: the same posterior probability decides. The Bayes decision
          for fixed costs of a false alarm and of a miss (a threshold of
          ``cost_fp / (cost_fp + cost_fn)``) stays optimal in the target
          population; more records are labelled where a class is commoner.

    shift_alpha : float in (0, 1) or None, default=None
        With ``method="em"``, a significance gate: a class keeps its source
        prevalence unless the likelihood-ratio test of "no shift" (EM's
        estimate against the source prevalence, chi-squared with one degree
        of freedom) rejects it at this level (``shift_pvalues_``). ``None``
        adapts every class. On resamples of the embedded models' calibration
        records the test holds its level; it guards against adapting to
        sampling noise, not against a population whose records differ by
        more than the prevalences (there the test rejects too).

    min_target_samples : int, default=100
        Fewest unlabelled target records :meth:`fit` estimates from; fewer
        (but not none) raise a ``ValueError``.

    max_iter : int, default=1000
        Most EM steps per class.

    tol : float, default=1e-6
        EM stops for a class when a step moves its estimate by less than this.

    Attributes
    ----------
    estimator_ : estimator instance
        The classifier whose probabilities are adapted: ``estimator`` when
        fitted, else a clone fitted on the labelled rows.

    source_priors_ : ndarray of shape (n_classes,)
        Prevalences the probabilities are calibrated at.

    target_priors_ : ndarray of shape (n_classes,)
        Estimated prevalences of the unlabelled rows; ``source_priors_``
        when there are none.

    thresholds_ : ndarray of shape (n_classes,)
        Thresholds of :meth:`predict` on the adjusted scale.

    n_target_samples_ : int
        Number of unlabelled rows the prevalences were estimated from.

    n_iter_ : ndarray of shape (n_classes,)
        EM steps of each class. Only with ``method="em"``.

    converged_ : ndarray of shape (n_classes,)
        Whether EM converged for each class (a
        :class:`~sklearn.exceptions.ConvergenceWarning` says when one did
        not). Only with ``method="em"``.

    shift_pvalues_ : ndarray of shape (n_classes,)
        p-value of each class's likelihood-ratio test of "no shift" (1 when
        there are no target records). Only with ``method="em"``.

    shift_adapted_ : ndarray of shape (n_classes,)
        Whether each class was moved to its estimate: all with
        ``shift_alpha=None``, else those whose p-value is below
        ``shift_alpha``. Only with ``method="em"``.

    condition_numbers_ : ndarray of shape (n_classes,)
        Condition number of each class's source confusion matrix; above about
        10 the BBSE estimate is unstable. Only with ``method="bbse"``.

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
    adjust_probabilities : The adjustment, on probabilities already computed.
    estimate_priors_em : EM, on probabilities already computed.
    estimate_priors_bbse : BBSE, on probabilities already computed.
    CalibratedMultilabelClassifierCV : Calibrate a classifier first; or, with
        labelled records of the target population, calibrate on them instead.

    Notes
    -----
    ``y`` follows the convention of :mod:`sklearn.semi_supervised`: a row of
    ``-1`` is an unlabelled record (of the target population), a row of 0/1
    a labelled one (of the source population, held out from the classifier's
    training). ``fit(X)`` takes every record as an unlabelled target record.
    Keeping both in one ``X`` lets a :class:`~sklearn.pipeline.Pipeline`
    transform them alike. Without unlabelled rows there is nothing to adapt
    to, and the target prevalences are the source ones.

    The adjustment assumes prior shift: the records of each class look the
    same in both populations, only the class frequencies differ. A new
    device, protocol or case mix within a class breaks it; calibrate on
    labelled records of the target population then. EM also assumes the
    probabilities are calibrated at ``source_priors``: :meth:`fit` refuses a
    :class:`~cardionet_sk.CardioNetClassifier` without calibration maps.

    References
    ----------
    .. [1] M. Saerens, P. Latinne and C. Decaestecker, "Adjusting the outputs of a
       classifier to new a priori probabilities: a simple procedure", Neural
       Computation 14(1), 2002.
    .. [2] Z. Lipton, Y.-X. Wang and A. Smola, "Detecting and correcting for label
       shift with black box predictors", ICML, 2018.
    .. [3] J. G. Moreno-Torres, T. Raeder, R. Alaiz-Rodriguez, N. V. Chawla and
       F. Herrera, "A unifying view on dataset shift in classification",
       Pattern Recognition 45(1), 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LogisticRegression
    >>> from cardionet_sk import PriorShiftAdaptedClassifier
    >>> X, y = make_classification(n_samples=6000, random_state=0)
    >>> clf = LogisticRegression().fit(X[:3000], y[:3000])   # source: 50 % positive
    >>> rare = np.flatnonzero(y[3000:] == 0)[:900].tolist() + np.flatnonzero(
    ...     y[3000:] == 1)[:100].tolist()
    >>> X_target = X[3000:][rare]                             # target: 10 % positive
    >>> adapted = PriorShiftAdaptedClassifier(
    ...     FrozenEstimator(clf), source_priors=[y[:3000].mean()]).fit(X_target)
    >>> adapted.target_priors_.round(2)                       # estimated from X_target
    array([0.11])
    >>> bool(adapted.converged_[0])
    True

    The probabilities now average the target prevalence; the labels, at the
    same likelihood ratio, are the classifier's own:

    >>> float(adapted.predict_proba(X_target)[:, 1].mean().round(2))
    0.11
    >>> bool((adapted.predict(X_target) == clf.predict(X_target)).all())
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "source_priors": [StrOptions({"auto"}), "array-like"],
        "method": [StrOptions({"em", "bbse"})],
        "threshold": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="both"), "array-like"],
        "threshold_rule": [StrOptions({"likelihood_ratio", "probability"})],
        "shift_alpha": [Interval(Real, 0, 1, closed="neither"), None],
        "min_target_samples": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        estimator,
        *,
        source_priors="auto",
        method="em",
        threshold="auto",
        threshold_rule="likelihood_ratio",
        shift_alpha=None,
        min_target_samples=MIN_TARGET_SAMPLES,
        max_iter=1000,
        tol=1e-6,
    ):
        self.estimator = estimator
        self.source_priors = source_priors
        self.method = method
        self.threshold = threshold
        self.threshold_rule = threshold_rule
        self.shift_alpha = shift_alpha
        self.min_target_samples = min_target_samples
        self.max_iter = max_iter
        self.tol = tol

    @fit_context(
        # PriorShiftAdaptedClassifier.estimator is not validated yet
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y=None, **params):
        """Estimate each class's prevalence in the unlabelled records of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Records, as accepted by ``estimator``: unlabelled records of the
            target population, and any labelled source records ``y`` marks.

        y : None, array-like or DataFrame of shape (n_samples, n_classes) or (n_samples,)
            ``None``: every record is an unlabelled target record. Otherwise a
            row of ``-1`` marks an unlabelled target record and a 0/1 row a
            labelled source record, held out from the classifier's training:
            ``method="bbse"`` needs some; ``source_priors="auto"`` takes their
            prevalences; an unfitted ``estimator`` is fitted on them. A 1-D
            ``y`` is a binary problem.

        **params : dict
            Metadata routed to ``estimator.fit`` when it is fitted here. Only
            available with ``enable_metadata_routing=True``; see the
            :ref:`User Guide <metadata_routing>`.

        Returns
        -------
        self : object
            Fitted estimator.

        Raises
        ------
        ValueError
            If there are fewer than ``min_target_samples`` unlabelled records
            (but some), if the estimator is a classifier without calibration
            maps, if ``source_priors="auto"`` finds no prevalences, if
            ``method="bbse"`` has no labelled records, or if ``shift_alpha``
            is set with ``method="bbse"``.
        """
        raise_for_params(params, self, "fit")
        X, labelled, y_labelled, class_names = self._split_rows(X, y)
        self.estimator_ = self._fitted_estimator(X, y, labelled, params)
        n_classes = self._n_classes(y)
        uncalibrated = _uncalibrated(self.estimator_)
        if uncalibrated:
            raise ValueError(
                f"{', '.join(map(str, uncalibrated))} applies no calibration maps: "
                "its probabilities are not frequencies at any known prevalence, and adapting "
                "them to another population would be meaningless. Calibrate it first "
                "(CalibratedMultilabelClassifierCV, or CardioNetClassifier.fit_calibration)."
            )
        target_rows = np.flatnonzero(~labelled)
        n_target = len(target_rows)
        if 0 < n_target < self.min_target_samples:
            raise ValueError(
                f"{type(self).__name__} needs at least min_target_samples="
                f"{self.min_target_samples} unlabelled target records to estimate prevalences "
                f"from; got {n_target}."
            )
        self.source_priors_ = self._source_priors(y_labelled, n_classes)
        source_threshold = self._check_threshold(n_classes)
        if self.shift_alpha is not None and self.method != "em":
            raise ValueError(
                f"shift_alpha gates EM's estimates; it cannot be used with method="
                f"{self.method!r}. Set shift_alpha=None, or method='em'."
            )
        for name in (
            "n_iter_",
            "converged_",
            "condition_numbers_",
            "shift_pvalues_",
            "shift_adapted_",
        ):
            self.__dict__.pop(name, None)
        if n_target == 0:
            self.target_priors_ = self.source_priors_.copy()
        else:
            X_target = X if n_target == len(labelled) else safe_indexing(X, target_rows)
            proba = positive_proba(self.estimator_, X_target, n_classes)
            self._estimate(proba, X, labelled, y_labelled, source_threshold)
        if self.method == "em" and n_target == 0:
            self.n_iter_ = np.zeros(n_classes, dtype=int)
            self.converged_ = np.ones(n_classes, dtype=bool)
            self.shift_pvalues_ = np.ones(n_classes)
            self.shift_adapted_ = np.ones(n_classes, dtype=bool)
        self.n_target_samples_ = n_target
        self._source_threshold = source_threshold
        if self.threshold_rule == "likelihood_ratio":
            self.thresholds_ = bayes_adjust(
                source_threshold, self.source_priors_, self.target_priors_
            )
        else:
            self.thresholds_ = source_threshold.copy()
        self.classes_ = self._class_names(self.estimator_, class_names, n_classes)
        self._copy_input_attributes(self.estimator_)
        return self

    def _split_rows(self, X, y):
        """``X``, which rows are labelled, their 0/1 labels and the class names of ``y``."""
        if y is None:
            (X,) = indexable(X)
            self._binary = False  # until _n_classes asks the estimator
            return X, np.zeros(len(X), dtype=bool), None, None
        X, y = indexable(X, y)
        class_names = None
        if hasattr(y, "columns"):
            class_names = np.asarray([str(c) for c in y.columns], dtype=object)
        values = np.asarray(y)
        self._binary = values.ndim == 1
        values = values.reshape(len(values), -1)
        missing = values == -1 if values.dtype.kind in "iuf" else np.zeros(values.shape, bool)
        unlabelled = missing.all(axis=1)
        if (missing.any(axis=1) & ~unlabelled).any():
            raise ValueError(
                "A row of y is either all -1 (an unlabelled target record) or all 0/1 (a "
                "labelled source record); some rows mix both."
            )
        y_labelled, _ = check_multilabel_y(values[~unlabelled])
        return X, ~unlabelled, y_labelled, class_names

    def _fitted_estimator(self, X, y, labelled, params):
        """``estimator`` if it is fitted, else a clone fitted on the labelled rows."""
        try:
            check_is_fitted(self.estimator)
            return self.estimator
        except NotFittedError:
            unfitted = type(self.estimator).__name__
            if y is None:
                raise ValueError(
                    f"{type(self).__name__} requires y to be passed, but the target y is None: "
                    f"{unfitted} is not fitted, and only labelled rows of y can fit it. Pass a "
                    "fitted classifier, wrapped in FrozenEstimator, to adapt it to the "
                    "unlabelled records of X."
                ) from None
            if not labelled.any():
                raise ValueError(
                    f"{unfitted} is not fitted, and y marks no labelled record to fit it on. "
                    "Pass a fitted classifier, wrapped in FrozenEstimator, or labelled source "
                    "rows in y."
                ) from None
        rows = np.flatnonzero(labelled)
        routed = process_routing(self, "fit", **params)
        fit_params = check_method_params(X, params=routed.estimator.fit, indices=rows)
        estimator = clone(self.estimator)
        return estimator.fit(safe_indexing(X, rows), safe_indexing(y, rows), **fit_params)

    def _n_classes(self, y):
        """Number of classes: the columns of ``y``, else the fitted estimator's; two
        ``classes_`` make a binary classifier unless it says otherwise."""
        if y is not None:
            return 1 if self._binary else np.asarray(y).shape[1]
        estimator = final_estimator(self.estimator_)
        classes = estimator.classes_
        for name in ("binary_", "_binary"):  # this package's classifiers know
            if hasattr(estimator, name):
                self._binary = bool(getattr(estimator, name))
                break
        else:  # as sklearn.utils.multiclass.type_of_target reads two classes
            self._binary = isinstance(classes, np.ndarray) and classes.shape == (2,)
        return 1 if self._binary else len(classes)

    def _source_priors(self, y_labelled, n_classes):
        if not isinstance(self.source_priors, str):
            return check_priors(self.source_priors, n_classes, "source_priors")
        if y_labelled is not None and len(y_labelled):
            constant = np.flatnonzero(y_labelled.min(axis=0) == y_labelled.max(axis=0))
            if constant.size:
                raise ValueError(
                    f"Class {constant[0]} takes one value only in the labelled rows of y (one "
                    "class present): its source prevalence would be 0 or 1, from which no "
                    "prevalence can be adjusted. Pass source_priors, or labelled rows of both "
                    "values."
                )
            return y_labelled.mean(axis=0)
        priors = pretrained_priors(self.estimator_)
        if priors is None:
            raise ValueError(
                f"{type(final_estimator(self.estimator_)).__name__}: source_priors='auto' found no "
                "prevalences, since it is no model loaded by from_pretrained whose config "
                "holds calibration_priors, and y marks no labelled source record. Pass "
                "source_priors, the prevalence of each class in the records its probabilities "
                "were calibrated on."
            )
        return check_priors(priors, n_classes, "calibration_priors of the model's config")

    def _check_threshold(self, n_classes):
        threshold = self.threshold
        if isinstance(threshold, str):
            threshold = _own_threshold(self.estimator_)
            threshold = 0.5 if threshold is None else threshold
        return check_thresholds(threshold, n_classes)

    def _estimate(self, proba, X, labelled, y_labelled, source_threshold):
        """Set ``target_priors_`` and the method's diagnostics from the target ``proba``."""
        if self.method == "em":
            self.target_priors_, self.n_iter_, self.converged_ = estimate_priors_em(
                proba, self.source_priors_, max_iter=self.max_iter, tol=self.tol
            )
            if not self.converged_.all():
                warnings.warn(
                    f"EM did not converge within max_iter={self.max_iter} steps for classes "
                    f"{np.flatnonzero(~self.converged_).tolist()}; increase max_iter.",
                    ConvergenceWarning,
                    stacklevel=3,
                )
            _, self.shift_pvalues_ = shift_test(proba, self.source_priors_, self.target_priors_)
            self.shift_adapted_ = np.ones(len(self.target_priors_), dtype=bool)
            if self.shift_alpha is not None:
                self.shift_adapted_ = self.shift_pvalues_ < self.shift_alpha
                self.target_priors_ = np.where(
                    self.shift_adapted_, self.target_priors_, self.source_priors_
                )
            return
        if not labelled.any():
            raise ValueError(
                "method='bbse' needs labelled source records: mark the unlabelled target "
                "records of X with rows of -1 in y and give the 0/1 labels of source records "
                "held out from the classifier's training."
            )
        proba_source = positive_proba(
            self.estimator_, safe_indexing(X, np.flatnonzero(labelled)), proba.shape[1]
        )
        self.target_priors_, self.condition_numbers_ = estimate_priors_bbse(
            proba, y_labelled, proba_source, threshold=source_threshold
        )

    def predict_proba(self, X):
        """Probability of each class, moved to the estimated target prevalences.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Records, as accepted by ``estimator.predict_proba``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or (n_samples, 2)
            Adjusted probability of each class being present; the binary
            ``(n_samples, 2)`` array for a 1-D ``y``.
        """
        check_is_fitted(self)
        proba = positive_proba(self.estimator_, X, len(self.thresholds_))
        proba = bayes_adjust(proba, self.source_priors_, self.target_priors_)
        if self._binary:
            return np.column_stack([1 - proba[:, 0], proba[:, 0]])
        return proba

    def predict(self, X):
        """Labels of each record: adjusted probabilities at or above ``thresholds_``.

        With ``threshold_rule="likelihood_ratio"`` these are the classifier's
        own labels at ``threshold``, computed on its own probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Records, as accepted by ``estimator.predict_proba``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_classes) or (n_samples,)
            0/1 indicator matrix, or a 0/1 vector for a 1-D ``y``.
        """
        check_is_fitted(self)
        proba = positive_proba(self.estimator_, X, len(self.thresholds_))
        if self.threshold_rule == "likelihood_ratio":
            threshold = self._source_threshold
        else:
            proba, threshold = (
                bayes_adjust(proba, self.source_priors_, self.target_priors_),
                self.thresholds_,
            )
        return apply_thresholds(proba[:, 0] if self._binary else proba, threshold)

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
        return MetadataRouter(owner=self).add(
            estimator=self.estimator,
            method_mapping=MethodMapping().add(callee="fit", caller="fit"),
        )
