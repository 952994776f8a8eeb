"""Per-class calibration maps: fitted on probabilities, stored and applied as plain numbers.

A map is what a saved model's ``config.json`` may hold to calibrate its
probabilities: Platt coefficients, isotonic breakpoints or a temperature,
never a pickled object. :class:`~cardionet_sk.CalibratedMultilabelClassifierCV`
fits them; :func:`apply_calibration` applies them.
"""

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression

from ._compat import sigmoid_calibration
from ._validation import check_multilabel_y

# Probabilities are clipped to [_EPS, 1 - _EPS] before their logit is taken for Platt
# scaling and for fitting a temperature: the logits stay within about +-27.6.
_EPS = 1e-12


def _logit(proba, clip=True):
    proba = np.clip(proba, _EPS, 1 - _EPS) if clip else proba
    with np.errstate(divide="ignore"):
        return np.log(proba) - np.log1p(-proba)


def _as_floats(values, method, key, ndim):
    """``values`` as a finite float64 array of ``ndim`` dimensions, or a ValueError."""
    if isinstance(values, (bool, str, bytes, dict)):
        values = None
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or array.ndim != ndim or not np.all(np.isfinite(array)):
        kind = "a finite number" if ndim == 0 else "a list of finite numbers"
        raise ValueError(f"A {method!r} calibration map needs {key!r} as {kind}; got {values!r}.")
    return array


class Calibrator:
    """Map of one class's probabilities, whose parameters are plain numbers."""

    method: str
    keys: tuple

    def to_dict(self):
        """The map as ``{"method": ..., <parameter>: <float or list of floats>}``."""
        values = [getattr(self, key) for key in self.keys]
        return {
            "method": self.method,
            **{
                key: value.tolist() if isinstance(value, np.ndarray) else float(value)
                for key, value in zip(self.keys, values)
            },
        }

    @staticmethod
    def from_dict(mapping):
        """Validate ``mapping``, as written by :meth:`to_dict`, and rebuild its calibrator."""
        if isinstance(mapping, Calibrator):
            return mapping
        if not isinstance(mapping, dict) or mapping.get("method") not in _CALIBRATORS:
            raise ValueError(
                "A calibration map is a dict whose 'method' is one of "
                f"{sorted(_CALIBRATORS)}; got {mapping!r}."
            )
        cls = _CALIBRATORS[mapping["method"]]
        if set(mapping) != {"method", *cls.keys}:
            raise ValueError(
                f"A {cls.method!r} calibration map has the keys {['method', *cls.keys]}; "
                f"got {sorted(mapping)}."
            )
        return cls(**{key: mapping[key] for key in cls.keys})


class _SigmoidCalibrator(Calibrator):
    """Platt scaling on the logit ``z``: ``expit(-(a * z + b))``, sklearn's sign convention."""

    method, keys = "sigmoid", ("a", "b")

    def __init__(self, a, b):
        self.a = float(_as_floats(a, self.method, "a", 0))
        self.b = float(_as_floats(b, self.method, "b", 0))

    @classmethod
    def fit(cls, proba, y):
        return cls(*sigmoid_calibration(_logit(proba), y))

    def predict(self, proba):
        return expit(-(self.a * _logit(proba) + self.b))


class _IsotonicCalibrator(Calibrator):
    """Centred isotonic regression, as its breakpoints, interpolated linearly and clipped."""

    method, keys = "isotonic", ("x", "y")

    def __init__(self, x, y):
        self.x = _as_floats(x, self.method, "x", 1)
        self.y = _as_floats(y, self.method, "y", 1)
        if not (
            self.x.size >= 1
            and self.x.shape == self.y.shape
            and np.all(np.diff(self.x) >= 0)
            and np.all(np.diff(self.y) >= 0)
            and self.y.min() >= 0
            and self.y.max() <= 1
        ):
            raise ValueError(
                "An 'isotonic' calibration map needs 'x' and 'y' of the same non-zero length, "
                "both non-decreasing, 'y' in [0, 1]."
            )

    @classmethod
    def fit(cls, proba, y):
        """Isotonic regression, each constant block of it made one breakpoint at its centre.

        Centred isotonic regression (Oron and Flournoy, 2017): the blocks' values at
        the mean probability of their records, the lowest and highest probability kept.
        scikit-learn's breakpoints are the ends of the blocks instead, and between two
        blocks its map climbs across the gap from the last record of one to the first of
        the next, a few float32 steps wide at times: slopes of thousands, through which
        the rounding of the network (1e-7) becomes 1e-4 of calibrated probability, and
        flat blocks that tie records the network ranks apart, which costs ROC AUC.
        From centre to centre the map rises strictly and gently.
        """
        proba = np.asarray(proba, dtype=np.float64)
        order = np.argsort(proba, kind="stable")
        p = proba[order]
        # "clip": scikit-learn merges probabilities closer than float64's resolution, and
        # the highest of them would be out of its bounds.
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        fitted = iso.fit(p, y[order]).predict(p)
        starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
        centres = np.add.reduceat(p, starts) / np.diff(np.r_[starts, len(p)])
        x = np.r_[p[0], centres, p[-1]]
        values = np.r_[fitted[0], fitted[starts], fitted[-1]]
        # A block of one record, or of one probability, has its centre at an end.
        keep = np.r_[True, np.diff(x) > 0]
        return cls(x[keep], values[keep])

    def predict(self, proba):
        # Linear between the breakpoints, clipped to the end values beyond them.
        return np.interp(proba, self.x, self.y)


class _TemperatureCalibrator(Calibrator):
    """Temperature scaling: ``expit(logit(p) / t)``, which keeps the order of probabilities."""

    method, keys = "temperature", ("t",)

    def __init__(self, t):
        self.t = float(_as_floats(t, self.method, "t", 0))
        if self.t <= 0:
            raise ValueError(f"A 'temperature' calibration map needs 't' > 0; got {t!r}.")

    @classmethod
    def fit(cls, proba, y):
        z = _logit(proba)

        def log_loss(log_beta):
            # Mean binary cross-entropy of expit(beta * z), beta = 1 / t.
            beta_z = np.exp(log_beta) * z
            return np.mean(np.logaddexp(0.0, beta_z) - y * beta_z)

        result = minimize_scalar(log_loss, bounds=(-10.0, 10.0), method="bounded")
        return cls(np.exp(-result.x))

    def predict(self, proba):
        # Not clipped: 0 and 1 stay 0 and 1, and no two probabilities are merged.
        return expit(_logit(proba, clip=False) / self.t)


_CALIBRATORS = {
    cls.method: cls for cls in (_SigmoidCalibrator, _IsotonicCalibrator, _TemperatureCalibrator)
}


def apply_calibration(proba, maps):
    """Calibrate probabilities with per-class calibration maps given as plain numbers.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Probability of each class being present, as uncalibrated as the
        probabilities the maps were fitted on.

    maps : list of dict of length n_classes
        One map per class, such as the ``calibration_maps_`` of a
        :class:`CalibratedMultilabelClassifierCV`, possibly read from JSON.
        With ``z = log(p / (1 - p))``:

        - ``{"method": "sigmoid", "a": a, "b": b}``: ``1 / (1 + exp(a * z + b))``,
          ``p`` clipped to ``[1e-12, 1 - 1e-12]``;
        - ``{"method": "isotonic", "x": [...], "y": [...]}``: ``np.interp(p, x, y)``,
          ``x`` non-decreasing;
        - ``{"method": "temperature", "t": t}``: ``1 / (1 + exp(-z / t))``.

    Returns
    -------
    calibrated : ndarray of shape (n_samples, n_classes)
        Calibrated probabilities, float64.

    Raises
    ------
    ValueError
        If ``proba`` is not a finite 2-D array in [0, 1] with one column per
        map, or if a map is malformed.

    See Also
    --------
    CalibratedMultilabelClassifierCV : Fits the maps.

    Examples
    --------
    >>> import numpy as np
    >>> from cardionet_sk import apply_calibration
    >>> maps = [{"method": "temperature", "t": 2.0},
    ...         {"method": "isotonic", "x": [0.2, 0.8], "y": [0.1, 0.5]}]
    >>> apply_calibration(np.array([[0.9, 0.1], [0.5, 0.5]]), maps).round(3)
    array([[0.75, 0.1 ],
           [0.5 , 0.3 ]])
    """
    calibrators = [Calibrator.from_dict(mapping) for mapping in maps]
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] != len(calibrators):
        raise ValueError(
            f"proba must have shape (n_samples, {len(calibrators)}), one column per map; "
            f"got shape {proba.shape}."
        )
    if not np.all((proba >= 0) & (proba <= 1)):
        raise ValueError("proba must hold probabilities in [0, 1], without NaN.")
    return calibrate(proba, calibrators)


def calibrate(proba, calibrators):
    return np.column_stack([c.predict(p) for c, p in zip(calibrators, proba.T)])


def fit_calibrators(proba, y, method, class_names, where):
    """One calibrator per column; a class with a single label value cannot be calibrated."""
    for name, column in zip(class_names, y.T):
        if column.min() == column.max():
            raise ValueError(
                f"Class {name!r} has only {'positive' if column[0] else 'negative'} samples "
                f"in {where}: its probabilities cannot be calibrated. Calibrate on data with "
                "both values of every class (fewer folds, or ensemble=False)."
            )
    return [_CALIBRATORS[method].fit(p, t) for p, t in zip(proba.T, y.T)]


def fit_calibration_maps(y_true, proba, method="sigmoid"):
    """Fit one calibration map per class on held-out probabilities.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_classes)
        0/1 indicator matrix; every class needs both values.
    proba : array-like of shape (n_samples, n_classes)
        Uncalibrated probabilities of the same samples, e.g. of records held
        out from training.
    method : {"sigmoid", "isotonic", "temperature"}, default="sigmoid"
        As in :class:`CalibratedMultilabelClassifierCV`.

    Returns
    -------
    maps : list of dict
        One plain-number map per class, for :func:`apply_calibration`.

    Examples
    --------
    >>> import numpy as np
    >>> from cardionet_sk import apply_calibration, fit_calibration_maps
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, size=(200, 2))
    >>> proba = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.1, (200, 2)), 0.01, 0.99)
    >>> maps = fit_calibration_maps(y, proba, method="temperature")
    >>> [m["method"] for m in maps]
    ['temperature', 'temperature']
    >>> apply_calibration(proba, maps).shape
    (200, 2)
    """
    if method not in _CALIBRATORS:
        raise ValueError(f"method must be one of {sorted(_CALIBRATORS)}; got {method!r}.")
    y_true, names = check_multilabel_y(y_true, name="y_true")
    proba = np.asarray(proba, dtype=np.float64)
    if proba.shape != y_true.shape:
        raise ValueError(f"proba has shape {proba.shape}, y_true has shape {y_true.shape}.")
    names = range(y_true.shape[1]) if names is None else names
    calibrators = fit_calibrators(proba, y_true, method, names, "y_true")
    return [c.to_dict() for c in calibrators]
