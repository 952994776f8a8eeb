"""Class prevalences of a population from a classifier's probabilities, and Bayes' rule.

Each class of a multi-label problem is its own binary problem. :func:`estimate_priors_em`
(Saerens et al. 2002) and :func:`estimate_priors_bbse` (Lipton et al. 2018) estimate its
prevalence among unlabelled records; :func:`adjust_probabilities` moves calibrated
probabilities from the prevalences they were calibrated at to others. They work on
probabilities already computed, so that a caller scoring records batch by batch (the
``cardionet`` command) can estimate on a first pass and adjust on a second;
:class:`~cardionet_sk.PriorShiftAdaptedClassifier` is the estimator built on them.
"""

from numbers import Integral, Real

import numpy as np
from scipy.stats import chi2

from ._compat import Interval, validate_params
from ._validation import check_multilabel_y, check_thresholds

# Estimated prevalences are kept in [_FLOOR, 1 - _FLOOR], so that the odds ratio of the
# adjustment stays finite; a class estimated absent gets probabilities near 0, not 0.
_FLOOR = 1e-6


def check_priors(priors, n_classes, name):
    """``priors`` as a float array of shape ``(n_classes,)`` strictly inside (0, 1)."""
    priors = np.asarray(priors, dtype=np.float64)
    if priors.ndim == 0:
        priors = np.full(n_classes, float(priors))
    if priors.shape != (n_classes,):
        raise ValueError(
            f"{name} must have one prevalence per class ({n_classes}); got shape {priors.shape}."
        )
    if not np.all((priors > 0) & (priors < 1)):
        raise ValueError(
            f"{name} must hold prevalences strictly between 0 and 1; got {priors.tolist()}."
        )
    return priors


def _check_proba(proba, name="proba"):
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim == 1:
        proba = proba[:, np.newaxis]
    if proba.ndim != 2 or not np.all((proba >= 0) & (proba <= 1)):
        raise ValueError(
            f"{name} must be an (n_samples, n_classes) array of probabilities in [0, 1]."
        )
    return proba


def bayes_adjust(proba, source, target):
    """Bayes' rule on checked arrays: the odds of ``proba`` times the odds ratio of the priors."""
    up, down = target / source, (1 - target) / (1 - source)
    return up * proba / (up * proba + down * (1 - proba))


@validate_params(
    {"proba": ["array-like"], "source_priors": ["array-like"], "target_priors": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def adjust_probabilities(proba, source_priors, target_priors):
    """Move calibrated probabilities from the source prevalences to the target ones.

    Each class is its own binary problem. With ``pi`` its source and ``pi2``
    its target prevalence, Bayes' rule gives, for a record of calibrated
    probability ``p``::

        p' = (pi2 / pi) p / ((pi2 / pi) p + ((1 - pi2) / (1 - pi)) (1 - p))

    the odds of ``p`` times the ratio of the prior odds. It assumes that the
    records of each class look alike in both populations (prior shift, or
    label shift): only the class frequencies differ.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Probabilities calibrated at ``source_priors``.
    source_priors : array-like of shape (n_classes,)
        Each class's prevalence where ``proba`` was calibrated, in (0, 1).
    target_priors : array-like of shape (n_classes,)
        Each class's prevalence in the target population, in (0, 1).

    Returns
    -------
    adjusted : ndarray of shape (n_samples, n_classes)

    See Also
    --------
    estimate_priors_em : Estimate ``target_priors`` from unlabelled records.
    PriorShiftAdaptedClassifier : Estimate and adjust in one estimator.

    Examples
    --------
    >>> from cardionet_sk import adjust_probabilities
    >>> adjust_probabilities([[0.5, 0.5]], [0.5, 0.25], [0.2, 0.25]).round(3)
    array([[0.2, 0.5]])
    """
    proba = _check_proba(proba)
    n_classes = proba.shape[1]
    source = check_priors(source_priors, n_classes, "source_priors")
    target = check_priors(target_priors, n_classes, "target_priors")
    return bayes_adjust(proba, source, target)


@validate_params(
    {
        "proba": ["array-like"],
        "source_priors": ["array-like"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def estimate_priors_em(proba, source_priors, *, max_iter=1000, tol=1e-6):
    """Estimate each class's prevalence in unlabelled records by EM (Saerens et al. 2002).

    Starting from the source prevalence, each step adjusts the probabilities
    to the current estimate (:func:`adjust_probabilities`) and takes their
    mean as the next estimate, until it moves by less than ``tol``: the
    maximum-likelihood prevalence of the target records, for probabilities
    calibrated at ``source_priors`` and class-conditional distributions that
    did not change. Each class is estimated on its own.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Calibrated probabilities of the unlabelled target records.
    source_priors : array-like of shape (n_classes,)
        Each class's prevalence where ``proba`` was calibrated, in (0, 1).
    max_iter : int, default=1000
        Most EM steps per class.
    tol : float, default=1e-6
        A class has converged when a step moves its estimate by less than this.

    Returns
    -------
    target_priors : ndarray of shape (n_classes,)
        Estimated prevalences, kept within [1e-6, 1 - 1e-6].
    n_iter : ndarray of shape (n_classes,)
        EM steps taken by each class.
    converged : ndarray of shape (n_classes,)
        Whether each class converged within ``max_iter`` steps.

    References
    ----------
    .. [1] M. Saerens, P. Latinne and C. Decaestecker, "Adjusting the outputs of a
       classifier to new a priori probabilities: a simple procedure", Neural
       Computation 14(1), 2002.

    Examples
    --------
    >>> import numpy as np
    >>> from cardionet_sk import estimate_priors_em
    >>> proba = np.array([[0.9], [0.8], [0.2], [0.1], [0.1], [0.2]])
    >>> priors, n_iter, converged = estimate_priors_em(proba, [0.5])
    >>> priors.round(3), int(n_iter[0]), bool(converged[0])
    (array([0.268]), 20, True)
    """
    proba = _check_proba(proba)
    source = check_priors(source_priors, proba.shape[1], "source_priors")
    priors = source.copy()
    n_iter = np.zeros(len(priors), dtype=int)
    converged = np.zeros(len(priors), dtype=bool)
    active = np.arange(len(priors))
    for step in range(1, max_iter + 1):
        new = bayes_adjust(proba[:, active], source[active], priors[active]).mean(axis=0)
        new = np.clip(new, _FLOOR, 1 - _FLOOR)
        moved = np.abs(new - priors[active])
        priors[active], n_iter[active] = new, step
        converged[active[moved < tol]] = True
        active = active[moved >= tol]
        if not active.size:
            break
    return priors, n_iter, converged


def shift_test(proba, source, target):
    """Likelihood-ratio test of "no prior shift", per class, on checked arrays.

    ``target`` is the maximum-likelihood prevalence of the target records
    (:func:`estimate_priors_em`); the statistic is twice the log-likelihood
    ratio of the records at ``target`` and at ``source``, and its p-value is
    that of a chi-squared variable with one degree of freedom (Wilks), valid
    for calibrated probabilities and many records.

    Returns
    -------
    statistic, pvalue : ndarray of shape (n_classes,)
    """

    def loglik(priors):
        up, down = priors / source, (1 - priors) / (1 - source)
        return np.log(np.maximum(up * proba + down * (1 - proba), np.finfo(float).tiny)).sum(axis=0)

    statistic = np.maximum(2 * (loglik(target) - loglik(source)), 0.0)
    return statistic, chi2.sf(statistic, 1)


@validate_params(
    {
        "proba": ["array-like"],
        "y_source": ["array-like"],
        "proba_source": ["array-like"],
        "threshold": [Interval(Real, 0, 1, closed="both"), "array-like"],
    },
    prefer_skip_nested_validation=True,
)
def estimate_priors_bbse(proba, y_source, proba_source, *, threshold=0.5):
    """Estimate each class's prevalence in unlabelled records by BBSE (Lipton et al. 2018).

    Black-box shift estimation counts hard predictions (``proba >= threshold``)
    instead of trusting the probabilities: with ``C`` the 2x2 joint
    distribution of prediction and label on labelled source records and ``mu``
    the distribution of predictions on the target records, the weights
    ``w = C^-1 mu`` are the ratios of target to source class frequencies, and
    the target prevalence is ``w[1]`` times the source one. It needs no
    calibration, but labelled source records held out from the classifier's
    training, and ``C`` must be well conditioned: a class the classifier
    rarely predicts makes the estimate noisy (see ``condition_numbers``).

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Probabilities of the unlabelled target records.
    y_source : array-like of shape (n_source_samples, n_classes)
        0/1 labels of the labelled source records.
    proba_source : array-like of shape (n_source_samples, n_classes)
        Probabilities of the labelled source records.
    threshold : float or array-like of shape (n_classes,), default=0.5
        Threshold of each class's hard predictions.

    Returns
    -------
    target_priors : ndarray of shape (n_classes,)
        Estimated prevalences, clipped to [1e-6, 1 - 1e-6].
    condition_numbers : ndarray of shape (n_classes,)
        Condition number of each class's ``C``; large values (say above 10)
        mean an unstable estimate.

    Raises
    ------
    ValueError
        If a class of ``y_source`` has a single value, or a ``C`` is singular.

    References
    ----------
    .. [1] Z. Lipton, Y.-X. Wang and A. Smola, "Detecting and correcting for label
       shift with black box predictors", ICML, 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from cardionet_sk import estimate_priors_bbse
    >>> y_source = np.array([[1], [1], [1], [1], [0], [0], [0], [0]])
    >>> proba_source = np.array([[0.9], [0.8], [0.7], [0.2], [0.1], [0.3], [0.2], [0.6]])
    >>> proba = np.array([[0.9], [0.8], [0.1], [0.2], [0.3], [0.1]])
    >>> priors, condition = estimate_priors_bbse(proba, y_source, proba_source)
    >>> priors.round(3), condition.round(1)
    (array([0.167]), array([2.]))
    """
    proba = _check_proba(proba)
    proba_source = _check_proba(proba_source, "proba_source")
    n_classes = proba.shape[1]
    y_source, _ = check_multilabel_y(y_source, n_samples=len(proba_source), name="y_source")
    if proba_source.shape[1] != n_classes or y_source.shape[1] != n_classes:
        raise ValueError(
            f"proba has {n_classes} classes, but proba_source has {proba_source.shape[1]} and "
            f"y_source {y_source.shape[1]}."
        )
    threshold = check_thresholds(threshold, n_classes)
    predicted, predicted_source = proba >= threshold, proba_source >= threshold
    priors, condition = np.empty(n_classes), np.empty(n_classes)
    for k in range(n_classes):
        labels = y_source[:, k]
        if labels.min() == labels.max():
            raise ValueError(f"Class {k} of y_source has a single value: BBSE needs both.")
        # joint[i, j]: P_source(prediction i, label j).
        joint = np.array(
            [
                [np.mean((predicted_source[:, k] == i) & (labels == j)) for j in (0, 1)]
                for i in (0, 1)
            ]
        )
        condition[k] = np.linalg.cond(joint)
        if not np.isfinite(condition[k]):
            raise ValueError(
                f"Class {k}: the source confusion matrix is singular (the classifier predicts "
                "one value only at its threshold); BBSE cannot invert it."
            )
        rates = np.array([1 - predicted[:, k].mean(), predicted[:, k].mean()])
        weights = np.linalg.solve(joint, rates)
        priors[k] = weights[1] * labels.mean()
    return np.clip(priors, _FLOOR, 1 - _FLOOR), condition
