"""Input validation shared by every estimator of the package."""

import numbers

import numpy as np
from sklearn.utils import check_array


def check_ecg_array(X, *, name="X", allow_windows=False, allow_2d=False):
    """Validate an ECG batch and return it as a floating point ndarray.

    Parameters
    ----------
    X : array-like
        ``(n_records, n_timesteps, n_leads)``; with ``allow_windows`` also
        ``(n_records, n_windows, n_timesteps, n_leads)``; with ``allow_2d``
        also ``(n_records, n_timesteps)``, read as a single lead.
    name : str
        How the array is named in error messages.
    allow_windows, allow_2d : bool
        Whether 4-D and 2-D input are accepted.

    Returns
    -------
    X : ndarray of float32 or float64
        A 2-D input gains a trailing lead axis of size one. Float input keeps
        its dtype and is not copied.

    Raises
    ------
    ValueError
        On a wrong number of dimensions, an empty axis, a non-numeric dtype,
        NaN or infinity.
    """
    # sklearn's own check gives the errors users know for sparse, complex, object and
    # empty input; the shape and finiteness rules below are the ECG-specific ones.
    X = check_array(
        X,
        accept_sparse=False,
        dtype="numeric",
        ensure_all_finite=False,
        allow_nd=True,
        ensure_2d=False,
        ensure_min_samples=1,
        input_name=name,
    )
    allowed = [3] + ([4] if allow_windows else []) + ([2] if allow_2d else [])
    shapes = {
        2: "(n_records, n_timesteps) for a single lead",
        3: "(n_records, n_timesteps, n_leads)",
        4: "(n_records, n_windows, n_timesteps, n_leads)",
    }
    if X.ndim not in allowed:
        expected = " or ".join(shapes[d] for d in sorted(allowed, key=[3, 4, 2].index))
        hint = " Reshape your data: one record is X[np.newaxis]." if X.ndim < min(allowed) else ""
        raise ValueError(
            f"{name} must be a {' or '.join(f'{d}-D' for d in sorted(allowed))} array shaped "
            f"{expected}; got a {X.ndim}-D array of shape {X.shape}.{hint}"
        )
    if X.ndim == 2 and X.shape[1] == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required."
        )
    if 0 in X.shape:
        raise ValueError(f"{name} has an empty axis: shape {X.shape}.")
    if X.dtype.kind != "f":
        X = X.astype(np.float32)
    # Record by record, so the check never allocates a mask the size of the whole dataset.
    for i, record in enumerate(X):
        if not np.isfinite(record).all():
            bad = (i, *np.argwhere(~np.isfinite(record))[0])
            raise ValueError(
                f"{name} contains NaN or infinity (first at index {tuple(int(j) for j in bad)}); "
                "ECG signals must be finite: interpolate or drop the affected records first."
            )
    if X.ndim == 2:
        X = X[..., np.newaxis]
    return X


def check_multilabel_y(y, *, n_samples=None, name="y"):
    """Validate a multi-label indicator matrix and return it as an int ndarray.

    Parameters
    ----------
    y : array-like or DataFrame of shape (n_samples, n_classes)
        0/1 indicator matrix. A 1-D 0/1 vector is read as one class.
    n_samples : int, default=None
        When given, the number of rows ``y`` must have.

    Returns
    -------
    y : ndarray of shape (n_samples, n_classes), dtype int64
    class_names : ndarray of str or None
        The DataFrame's column names, ``None`` for an array.
    """
    class_names = None
    if hasattr(y, "columns"):
        class_names = np.asarray([str(c) for c in y.columns], dtype=object)
    y = np.asarray(y)
    if y.ndim == 1:
        y = y[:, np.newaxis]
    if y.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D indicator matrix of shape (n_samples, n_classes); "
            f"got a {y.ndim}-D array of shape {y.shape}."
        )
    if n_samples is not None and y.shape[0] != n_samples:
        raise ValueError(f"{name} has {y.shape[0]} rows but X has {n_samples} records.")
    if y.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} must be a 0/1 indicator matrix.")
    if y.dtype.kind not in "fiub":
        raise ValueError(
            f"Unknown label type: {name} must be a 0/1 indicator matrix; got dtype {y.dtype}."
        )
    values = np.unique(y)
    others = values[~np.isin(values, (0, 1))]
    if others.size:
        kind = (
            "continuous values"
            if np.any(others != np.round(others))
            else "more than two classes. Only binary classification is supported per label: "
            "one-hot encode a multi-class target"
        )
        raise ValueError(
            f"{name} must be a 0/1 indicator matrix; it contains {others[:5]} ({kind})."
        )
    return y.astype(np.int64), class_names


def check_thresholds(threshold, n_classes, *, name="threshold"):
    """Broadcast a scalar or per-class threshold to shape (n_classes,) and check its range."""
    if isinstance(threshold, numbers.Real):
        threshold = np.full(n_classes, float(threshold))
    threshold = np.asarray(threshold, dtype=float)
    if threshold.shape != (n_classes,):
        raise ValueError(
            f"{name} must be a scalar or have one value per class ({n_classes}); "
            f"got shape {threshold.shape}."
        )
    if not np.all((threshold >= 0) & (threshold <= 1)):
        raise ValueError(f"{name} values must lie in [0, 1]; got {threshold.tolist()}.")
    return threshold


def check_test_time_shifts(shifts):
    """``test_time_shifts`` as a tuple of ints; ``(0,)`` (predict once) for ``None``."""
    if shifts is None:
        return (0,)
    values = np.asarray(shifts)
    if values.ndim != 1 or values.size == 0 or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(
            "test_time_shifts must be None or a non-empty list of integers (timesteps); "
            f"got {shifts!r}."
        )
    return tuple(int(v) for v in values)


def check_training_target(y, n_records, *, class_names, require_both_values, estimator_name):
    """Validate the ``y`` of a classifier's fit and find its class names.

    Parameters
    ----------
    y : array-like or DataFrame of shape (n_records, n_classes) or (n_records,)
        0/1 indicator matrix; a 1-D vector makes a binary problem.
    n_records : int
        Rows ``y`` must have.
    class_names : array-like of str or None
        Names given by the user; they win over a DataFrame's columns.
    require_both_values : bool
        Reject labels that take one value only.
    estimator_name : str
        For error messages.

    Returns
    -------
    y : ndarray of shape (n_records, n_classes), int64
    names : ndarray of str or None
        ``class_names``, else the DataFrame's columns, else ``None``: names
        come from the data, never from the number of columns.
    binary : bool
    """
    if y is None:
        raise ValueError(f"{estimator_name} requires y to be passed, but the target y is None.")
    binary = np.asarray(y).ndim == 1
    y, names = check_multilabel_y(y, n_samples=n_records)
    if class_names is not None:
        names = np.asarray([str(c) for c in class_names], dtype=object)
        if len(names) != y.shape[1]:
            raise ValueError(f"class_names has {len(names)} names, but y has {y.shape[1]} columns.")
    if require_both_values:
        _check_both_values(y, names, binary)
    return y, names, binary


def _check_both_values(y, names, binary):
    """Reject labels with one value only: there is no decision to learn.

    A network trained on such a label predicts whatever its initialisation and a
    few steps give.
    """
    positives = y.sum(axis=0)
    constant = (positives == 0) | (positives == len(y))
    if binary and constant.any():
        raise ValueError("y contains one class only; a binary classifier needs records of both.")
    if constant.any():
        labels = np.flatnonzero(constant) if names is None else np.asarray(names)[constant]
        raise ValueError(
            f"Every class needs positive and negative examples, but in y the classes "
            f"{labels.tolist()} take one value only. Drop those columns or gather "
            "records with both values."
        )
