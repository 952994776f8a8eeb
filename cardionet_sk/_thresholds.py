"""Per-class decision thresholds: tuning them on held-out probabilities and applying them.

:class:`~cardionet_sk.ThresholdOptimizer`, in :mod:`cardionet_sk._threshold_optimizer`, runs
this search on the probabilities of a classifier it fits itself.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.stats
from sklearn.utils import check_array

from ._compat import Interval, StrOptions, validate_params
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

# The tuning parameters shared by tune_thresholds and ThresholdOptimizer.
TUNING_CONSTRAINTS = {
    "objective": [StrOptions(_OBJECTIVES), callable],
    "beta": [Interval(Real, 0, None, closed="neither")],
    "min_sensitivity": [Interval(Real, 0, 1, closed="both"), "array-like", None],
    "confidence_level": [Interval(Real, 0, 1, closed="neither"), None],
    "thresholds": [Interval(Integral, 2, None, closed="left"), "array-like", None],
}


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


def _best_threshold(
    y_true, proba, name, thresholds, objective, beta, min_sensitivity, confidence_level
):
    """Lowest candidate threshold of one label that maximises ``objective``, and its score.

    ``y_true`` must hold both values; ``min_sensitivity`` is this label's.
    """
    if thresholds is None:
        candidates = np.unique(proba)
    elif isinstance(thresholds, Integral):
        candidates = np.linspace(proba.min(), proba.max(), thresholds)
    else:
        candidates = np.unique(np.asarray(thresholds, dtype=np.float64))
    scores = _candidate_scores(
        y_true, proba, candidates, objective, beta, min_sensitivity, confidence_level
    )
    # Candidates are ascending, so argmax keeps the lowest of tied ones.
    best = np.argmax(scores)
    if np.isneginf(scores[best]):
        raise ValueError(
            f"No candidate threshold reaches sensitivity {min_sensitivity}"
            + ("" if confidence_level is None else f" with confidence {confidence_level}")
            + f" for class '{name}'; its lowest candidate is {candidates[0]}. "
            "Add lower values to thresholds, or gather more positive examples."
        )
    return candidates[best], scores[best]


def check_min_sensitivity(objective, min_sensitivity, n_classes):
    """``min_sensitivity`` of each class; NaN when ``objective`` does not use it."""
    if objective != "specificity_at_sensitivity":
        return np.full(n_classes, np.nan)
    if min_sensitivity is None:
        raise ValueError("objective='specificity_at_sensitivity' needs min_sensitivity.")
    return check_thresholds(min_sensitivity, n_classes, name="min_sensitivity")


def _check_tuning_data(y_true, proba, class_names):
    """``y_true`` and ``proba`` as arrays of shape (n_samples, n_classes), and the class names."""
    binary = np.ndim(y_true) == 1
    y_true, column_names = check_multilabel_y(y_true, name="y_true")
    n_classes = y_true.shape[1]
    proba = check_array(proba, ensure_2d=False, dtype=np.float64, input_name="proba")
    if proba.ndim == 1:
        proba = proba[:, np.newaxis]
    if proba.shape != y_true.shape:
        hint = (
            " For a binary problem, pass the probability of the positive class, proba[:, 1]."
            if n_classes == 1 and proba.shape[1] == 2
            else ""
        )
        raise ValueError(
            f"proba must hold one probability per sample and class of y_true, shape "
            f"{y_true.shape}; got shape {proba.shape}.{hint}"
        )
    if class_names is None:
        if column_names is not None:
            class_names = column_names
        else:
            class_names = [1] if binary else range(n_classes)
    elif len(class_names) != n_classes:
        raise ValueError(
            f"class_names must have one name per class ({n_classes}); got {len(class_names)}."
        )
    return y_true, proba, class_names


@validate_params(
    {
        "y_true": ["array-like"],
        "proba": ["array-like"],
        **TUNING_CONSTRAINTS,
        "class_names": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def tune_thresholds(
    y_true,
    proba,
    *,
    objective="f1",
    beta=1.0,
    min_sensitivity=None,
    confidence_level=None,
    thresholds=None,
    class_names=None,
):
    """Tune one decision threshold per class on held-out probabilities.

    For each class ``j``, finds the threshold ``t`` whose predictions
    ``proba[:, j] >= t`` maximise ``objective`` against ``y_true[:, j]``. The
    probabilities must come from a classifier that was not trained on these
    samples, or the thresholds fit its training error instead of its
    behaviour on new data.

    Read more in the :ref:`User Guide <thresholds>`.

    Parameters
    ----------
    y_true : array-like or DataFrame of shape (n_samples, n_classes) or (n_samples,)
        0/1 indicator matrix of the true labels, or a 0/1 vector for a binary
        problem.

    proba : array-like of shape (n_samples, n_classes) or (n_samples,)
        Probability of each class being present, one column per column of
        ``y_true``. For a binary problem, the probability of the positive
        class: ``predict_proba(X)[:, 1]`` of a scikit-learn binary classifier.

    objective : {"f1", "fbeta", "youden", "balanced_accuracy", "mcc", \
            "specificity_at_sensitivity"} or callable, default="f1"
        Quantity maximised for each class, on that class's 0/1 column:

        - ``"f1"``: F1 score;
        - ``"fbeta"``: F-beta score with ``beta``;
        - ``"youden"``: Youden's J [1]_, sensitivity + specificity - 1;
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
        this confidence instead of on ``y_true`` only: a threshold qualifies
        when the one-sided Clopper-Pearson [2]_ lower bound of its sensitivity
        reaches ``min_sensitivity``. A threshold tuned on the point estimate
        alone leaves new data below ``min_sensitivity`` about half of the
        time; 0.95 makes that about one time in twenty, for data drawn like
        the tuning data. Ignored by the other objectives.

    thresholds : int, array-like or None, default=None
        Candidate thresholds of each class:

        - ``None``: every distinct probability of the class, which finds the
          exact optimum;
        - int: that many values evenly spaced between the smallest and
          largest probability of the class, cheaper with a callable
          ``objective`` on large data;
        - array-like: these values for every class.

    class_names : array-like of shape (n_classes,), default=None
        Names of the classes in warnings and errors. ``None`` takes the
        columns of a DataFrame ``y_true``, else ``1`` for a 1-D ``y_true``
        (the positive class), else ``0 .. n_classes - 1``.

    Returns
    -------
    best_thresholds : ndarray of shape (n_classes,)
        Decision threshold of each class, one value for a 1-D ``y_true``;
        :func:`apply_thresholds` turns probabilities into labels with them.

    best_scores : ndarray of shape (n_classes,)
        ``objective`` reached by each threshold on ``y_true``; NaN for a
        class that kept the fallback threshold 0.5.

    Raises
    ------
    ValueError
        If ``proba`` does not have the shape of ``y_true`` or is not finite,
        or if, with ``"specificity_at_sensitivity"``, no candidate threshold
        reaches ``min_sensitivity``.

    See Also
    --------
    apply_thresholds : Labels from probabilities and per-class thresholds.
    ThresholdOptimizer : Classifier that tunes its thresholds with this
        function, on out-of-fold or held-out probabilities.
    sklearn.model_selection.TunedThresholdClassifierCV : One threshold for a
        binary classifier, tuned on cross-validation curves averaged over
        folds.

    Notes
    -----
    Among candidates with the best objective the lowest threshold is kept,
    the one with the highest sensitivity. With ``thresholds=None`` the
    threshold is an observed probability, so ``proba >= best_thresholds``
    reproduces the tuned predictions exactly.

    A class whose labels in ``y_true`` are all 0 or all 1 keeps the threshold
    0.5, with a :class:`UserWarning`: no threshold can be scored on it.

    References
    ----------
    .. [1] W. J. Youden, "Index for rating diagnostic tests", Cancer, 3(1),
       32-35, 1950. `doi:10.1002/1097-0142(1950)3:1<32::AID-CNCR2820030106>3.0.CO;2-3
       <https://doi.org/10.1002/1097-0142(1950)3:1%3C32::AID-CNCR2820030106%3E3.0.CO;2-3>`_

    .. [2] C. J. Clopper and E. S. Pearson, "The use of confidence or fiducial
       limits illustrated in the case of the binomial", Biometrika, 26(4),
       404-413, 1934. `doi:10.1093/biomet/26.4.404
       <https://doi.org/10.1093/biomet/26.4.404>`_

    Examples
    --------
    >>> import numpy as np
    >>> from cardionet_sk import apply_thresholds, tune_thresholds
    >>> y_true = np.array([[0, 1], [0, 0], [1, 1], [0, 0], [1, 1], [1, 0]])
    >>> proba = np.array([[0.1, 0.8], [0.3, 0.2], [0.6, 0.7],
    ...                   [0.5, 0.4], [0.8, 0.3], [0.4, 0.1]])
    >>> best_thresholds, best_scores = tune_thresholds(y_true, proba)
    >>> best_thresholds
    array([0.4, 0.3])
    >>> best_scores.round(2)
    array([0.86, 0.86])
    >>> apply_thresholds(proba, best_thresholds)
    array([[0, 1],
           [0, 0],
           [1, 1],
           [1, 1],
           [1, 1],
           [1, 0]])
    """
    y_true, proba, class_names = _check_tuning_data(y_true, proba, class_names)
    n_classes = y_true.shape[1]
    min_sensitivity = check_min_sensitivity(objective, min_sensitivity, n_classes)

    best_thresholds = np.full(n_classes, _FALLBACK_THRESHOLD)
    best_scores = np.full(n_classes, np.nan)
    for j, name in enumerate(class_names):
        y_j = y_true[:, j]
        if y_j.min() == y_j.max():
            warnings.warn(
                f"Class '{name}' has only {'positive' if y_j[0] else 'negative'} "
                f"examples in the tuning data, so no threshold can be tuned; it "
                f"keeps the threshold {_FALLBACK_THRESHOLD}.",
                UserWarning,
                # Past validate_params' wrapper, to the caller.
                stacklevel=3,
            )
            continue
        best_thresholds[j], best_scores[j] = _best_threshold(
            y_j,
            proba[:, j],
            name,
            thresholds,
            objective,
            beta,
            min_sensitivity[j],
            confidence_level,
        )
    return best_thresholds, best_scores


@validate_params(
    {
        "proba": ["array-like"],
        "thresholds": [Interval(Real, 0, 1, closed="both"), "array-like"],
    },
    prefer_skip_nested_validation=True,
)
def apply_thresholds(proba, thresholds):
    """Turn probabilities into labels: 1 where a probability reaches its class's threshold.

    Computes ``proba >= thresholds``, column by column, as 0/1 integers.

    Read more in the :ref:`User Guide <thresholds>`.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes) or (n_samples,)
        Probability of each class being present. For a binary problem, the
        probability of the positive class, ``predict_proba(X)[:, 1]`` of a
        scikit-learn binary classifier: its ``(n_samples, 2)`` array would be
        read as two classes.

    thresholds : float or array-like of shape (n_classes,)
        Decision threshold in [0, 1], for all classes or for each, such as
        the ``best_thresholds`` of :func:`tune_thresholds` or
        the ``thresholds_`` of :class:`ThresholdOptimizer`. A 1-D ``proba`` takes a
        single threshold.

    Returns
    -------
    y_pred : ndarray of shape (n_samples, n_classes) or (n_samples,), dtype int64
        0/1 indicator matrix, or a 0/1 vector for a 1-D ``proba``: what
        :meth:`ThresholdOptimizer.predict` returns for a 2-D or a 1-D ``y``.

    Raises
    ------
    ValueError
        If ``proba`` is not finite or has more than two dimensions, or if
        ``thresholds`` has neither one value nor one value per class, or a
        value outside [0, 1] (NaN included).

    See Also
    --------
    tune_thresholds : Thresholds tuned on held-out probabilities.
    ThresholdOptimizer : Classifier whose :meth:`~ThresholdOptimizer.predict`
        applies its tuned thresholds with this function.

    Examples
    --------
    >>> import numpy as np
    >>> from cardionet_sk import apply_thresholds
    >>> proba = np.array([[0.2, 0.9], [0.6, 0.3]])
    >>> apply_thresholds(proba, [0.5, 0.3])
    array([[0, 1],
           [1, 1]])

    A binary problem, with the probability of the positive class:

    >>> apply_thresholds(np.array([0.2, 0.7]), 0.4)
    array([0, 1])
    """
    proba = check_array(proba, ensure_2d=False, dtype="numeric", input_name="proba")
    n_classes = 1 if proba.ndim == 1 else proba.shape[1]
    thresholds = check_thresholds(thresholds, n_classes, name="thresholds")
    # A 1-D proba broadcasts against its single threshold and stays 1-D.
    return (proba >= thresholds).astype(np.int64)
