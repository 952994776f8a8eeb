"""Windows of ECG records: cutting them, cropping them at random, and pooling their predictions.

Everything that turns records into windows, or window probabilities back into
record probabilities, lives here: :class:`PTBXLWindower` (windows as a
pipeline step), :func:`sliding_windows` (the view both it and the
classifier's overlapping-crop prediction cut), :func:`random_crops` and
:func:`random_shifts` (training augmentation), and :func:`predict_windows`
with :func:`aggregate_windows` (one probability per record).
"""

import math
import warnings
from numbers import Integral

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import resample_poly
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._compat import Interval, StrOptions, fit_context
from ._constants import LEADS
from ._statistics import MIN_SCALE, lead_statistics, standardize
from ._validation import check_ecg_array


class PTBXLWindower(TransformerMixin, BaseEstimator):
    """Cut ECG records into fixed-length windows.

    Each record is optionally reduced to some leads, resampled to
    ``resample_to`` and normalised, then cut into windows of ``window_size``
    samples taken every ``stride`` samples. Samples after the last full window
    are dropped, so a record of ``n_timesteps`` samples (at the output rate)
    yields ``1 + (n_timesteps - window_size) // stride`` windows.

    Parameters
    ----------
    window_size : int, default=1000
        Samples per window, at the output rate ``resample_to``. The default
        is one 10 s PTB-XL record at 100 Hz.
    stride : int, default=None
        Samples between the starts of consecutive windows, at the output rate.
        ``None`` means ``window_size``: adjacent, non-overlapping windows.
    input_sampling_rate : int, default=100
        Sampling rate of ``X`` in Hz.
    resample_to : int, default=None
        Sampling rate of the windows in Hz. When it differs from
        ``input_sampling_rate``, records are resampled with
        :func:`scipy.signal.resample_poly`, whose anti-aliasing filter makes
        downsampling safe; the signal is assumed to continue the line through
        its first and last samples. ``None`` keeps ``input_sampling_rate``.
    sampling_rate : int, default=None
        Deprecated: the output rate, now ``resample_to`` (a ``FutureWarning``
        at :meth:`fit`). From 0.6, ``sampling_rate`` will mean what it means
        everywhere else in the package, the rate of ``X`` (today's
        ``input_sampling_rate``), as in
        :meth:`CardioNetClassifier.predict_proba`.
    leads : array-like of str or of int, default=None
        Leads to keep, in the given order: names from
        :data:`~cardionet_sk.LEADS` (case-insensitive, so ``"aVR"``
        works; they require ``X`` to hold the 12 PTB-XL leads in that order) or
        integer positions along the last axis of ``X``. ``None`` keeps all.
    normalize : {"record", "global"}, default=None
        How each lead is scaled to zero mean and unit variance:

        - ``"record"``: with the mean and standard deviation of that lead in
          that record, so every record is scaled on its own;
        - ``"global"``: with the mean and standard deviation of that lead over
          all records and timesteps seen in :meth:`fit`;
        - ``None``: not at all.

        Flat leads (standard deviation below 1e-6) become zeros instead of
        being divided by zero. Statistics are taken after lead selection and
        resampling, on the whole record rather than on each window.

    Attributes
    ----------
    n_leads_in_ : int
        Number of leads of ``X`` in :meth:`fit`; :meth:`transform` requires the
        same, which is why :meth:`fit` is needed even when ``normalize`` is
        not ``"global"``. This transformer sets no ``n_features_in_``: the
        second axis of ``X`` is time, and records of any length of at least one
        window can be transformed, whatever the length of those seen in
        :meth:`fit`.
    lead_indices_ : ndarray of shape (n_selected_leads,), dtype int
        Positions in ``X`` of the leads that are kept, in output order.
    mean_ : ndarray of shape (n_selected_leads,)
        Per-lead mean of the training data. Only with ``normalize="global"``.
    scale_ : ndarray of shape (n_selected_leads,)
        Per-lead standard deviation of the training data, with flat leads set
        to 1. Only with ``normalize="global"``.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : Feature-wise scaling of 2-D data.

    Notes
    -----
    Whenever nothing forces a copy, the windows are a read-only view into
    ``X``: windowing a large training set does not multiply its memory, even
    with overlapping windows. Call ``.copy()`` on the result to write to it.
    Leads whose positions are evenly spaced (one lead, a run of adjacent leads,
    every other lead, ...) are selected by slicing and keep the view; other
    selections, resampling and normalisation make one copy of the records,
    still shared by all their windows.

    2-D input of shape ``(n_records, n_timesteps)`` is read as a single lead.

    The output is 4-D, so there are no output feature names and no
    ``get_feature_names_out``; the next step of a pipeline must accept
    windows, as :class:`CardioNetClassifier` does.

    Examples
    --------
    >>> import numpy as np
    >>> from cardionet_sk import PTBXLWindower
    >>> X = np.random.default_rng(0).normal(size=(4, 5000, 12))
    >>> windower = PTBXLWindower(250, 125, input_sampling_rate=500, resample_to=100,
    ...                          leads=["II", "V1"], normalize="record")
    >>> windower.fit_transform(X).shape
    (4, 7, 250, 2)
    >>> windower.lead_indices_
    array([1, 6])
    """

    _parameter_constraints: dict = {
        "window_size": [Interval(Integral, 1, None, closed="left")],
        "stride": [Interval(Integral, 1, None, closed="left"), None],
        "input_sampling_rate": [Interval(Integral, 1, None, closed="left")],
        "resample_to": [Interval(Integral, 1, None, closed="left"), None],
        "sampling_rate": [Interval(Integral, 1, None, closed="left"), None],
        "leads": ["array-like", None],
        "normalize": [StrOptions({"record", "global"}), None],
    }

    def __init__(
        self,
        window_size=1000,
        stride=None,
        *,
        input_sampling_rate=100,
        resample_to=None,
        sampling_rate=None,
        leads=None,
        normalize=None,
    ):
        self.window_size = window_size
        self.stride = stride
        self.input_sampling_rate = input_sampling_rate
        self.resample_to = resample_to
        self.sampling_rate = sampling_rate
        self.leads = leads
        self.normalize = normalize

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters against ``X`` and learn the global statistics.

        Parameters
        ----------
        X : array-like of shape (n_records, n_timesteps, n_leads) or (n_records, n_timesteps)
            ECG records at ``input_sampling_rate``.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        if self.sampling_rate is not None:
            if self.resample_to is not None and self.resample_to != self.sampling_rate:
                raise ValueError(
                    f"sampling_rate={self.sampling_rate} (deprecated) and resample_to="
                    f"{self.resample_to} both set the output rate: pass resample_to only."
                )
            warnings.warn(
                "PTBXLWindower(sampling_rate=...) is the output rate, renamed resample_to; "
                "from 0.6, sampling_rate will be the rate of X (today's input_sampling_rate), "
                "as everywhere else in cardionet-sk. Pass resample_to instead.",
                FutureWarning,
                stacklevel=2,
            )
        X = check_ecg_array(X, allow_2d=True)
        self.n_leads_in_ = X.shape[2]
        self.lead_indices_ = self._resolve_leads(self.n_leads_in_)
        self._check_length(X.shape[1])
        if self.normalize == "global":
            X = self._select_and_resample(X)
            self.mean_, self.scale_ = lead_statistics(X)
        return self

    def transform(self, X):
        """Cut records into windows.

        Parameters
        ----------
        X : array-like of shape (n_records, n_timesteps, n_leads) or (n_records, n_timesteps)
            ECG records at ``input_sampling_rate``, with ``n_leads_in_`` leads
            and at least ``window_size`` samples once resampled.

        Returns
        -------
        windows : ndarray of shape (n_records, n_windows, window_size, n_selected_leads)
            ``windows[i, j]`` is record ``i`` from sample ``j * stride`` to
            ``j * stride + window_size`` at the output rate. Same floating
            dtype as ``X``; a read-only view of ``X`` when possible.
        """
        check_is_fitted(self)
        X = check_ecg_array(X, allow_2d=True)
        if X.shape[2] != self.n_leads_in_:
            raise ValueError(
                f"X has {X.shape[2]} leads, but {type(self).__name__} was fitted on "
                f"{self.n_leads_in_} leads."
            )
        self._check_length(X.shape[1])
        records = self._select_and_resample(X)
        if self.normalize is not None:
            records = self._normalize(records, in_place=not np.may_share_memory(records, X))
        stride = self.window_size if self.stride is None else self.stride
        return sliding_windows(records, self.window_size, stride)

    def _resolve_leads(self, n_leads):
        """Positions of the requested leads in an input of ``n_leads`` leads."""
        if self.leads is None:
            return np.arange(n_leads)
        leads = list(self.leads)
        if not leads:
            raise ValueError("leads must name at least one lead; use None to keep all.")
        if all(isinstance(lead, str) for lead in leads):
            indices = _lead_positions(leads, n_leads)
        elif all(isinstance(lead, Integral) for lead in leads):
            outside = [int(lead) for lead in leads if not 0 <= lead < n_leads]
            if outside:
                raise ValueError(
                    f"Lead indices {outside} are out of range for X with {n_leads} leads; "
                    f"valid indices are 0 to {n_leads - 1}."
                )
            indices = np.array(leads, dtype=np.intp)
        else:
            raise ValueError(
                f"leads must be all lead names or all integer indices; got {self.leads!r}."
            )
        if len(np.unique(indices)) != len(indices):
            raise ValueError(f"leads must not repeat a lead; got {self.leads!r}.")
        return indices

    def _resampling_factors(self):
        """Up- and down-sampling factors of the smallest exact rational resampling."""
        target = self.resample_to or self.sampling_rate or self.input_sampling_rate
        gcd = math.gcd(target, self.input_sampling_rate)
        return target // gcd, self.input_sampling_rate // gcd

    def _check_length(self, n_timesteps):
        """Fail before any work when records are too short for one window."""
        up, down = self._resampling_factors()
        # resample_poly returns ceil(n * up / down) samples.
        n_out = -(-n_timesteps * up // down)
        if n_out < self.window_size:
            at_rate = "" if up == down else f" once resampled from {n_timesteps} samples"
            raise ValueError(
                f"window_size={self.window_size} is longer than the records, which have "
                f"{n_out} samples{at_rate}."
            )

    def _select_and_resample(self, X):
        """Keep the selected leads, as a view when they are evenly spaced, and resample."""
        X = X[:, :, _as_slice(self.lead_indices_)]
        up, down = self._resampling_factors()
        if up != down:
            # Continuing the line through the first and last samples, rather
            # than zeros, avoids ringing at records that start or end away from
            # 0 mV, e.g. on baseline wander; a flat lead stays exactly flat.
            X = resample_poly(X, up, down, axis=1, padtype="line")
        return X

    def _normalize(self, records, *, in_place):
        """Scale each lead to zero mean and unit variance, as ``normalize`` says.

        ``in_place`` is for records that resampling or a lead selection that
        is not a slice already copied: scaling that copy avoids another one.
        """
        if self.normalize == "record":
            mean = records.mean(axis=1, keepdims=True)
            scale = records.std(axis=1, keepdims=True)
            scale[scale < MIN_SCALE] = 1.0
        else:
            mean = self.mean_.astype(records.dtype)
            scale = self.scale_.astype(records.dtype)
        return standardize(
            records, mean, scale, out=records if in_place else np.empty_like(records)
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _lead_positions(names, n_leads):
    """Positions of PTB-XL lead names, any case, in an input of ``n_leads`` leads."""
    if n_leads != len(LEADS):
        raise ValueError(
            f"Lead names need X to hold the {len(LEADS)} PTB-XL leads in the order "
            f"{list(LEADS)}; X has {n_leads} leads. Select leads by position instead."
        )
    unknown = [str(name) for name in names if name.upper() not in LEADS]
    if unknown:
        raise ValueError(
            f"Unknown lead names {unknown}; valid names (case-insensitive) are {list(LEADS)}."
        )
    return np.array([LEADS.index(name.upper()) for name in names])


def _as_slice(indices):
    """The basic slice equal to evenly spaced ``indices``, else ``indices`` unchanged.

    Indexing with a slice returns a view; with an integer array, a copy.
    """
    if len(indices) == 1:
        return slice(indices[0], indices[0] + 1)
    steps = np.diff(indices)
    if (steps != steps[0]).any():
        return indices
    stop = indices[-1] + steps[0]
    # A negative stop would count from the end; None runs down to position 0.
    return slice(indices[0], stop if stop >= 0 else None, steps[0])


def sliding_windows(X, size, stride):
    """Windows of ``size`` timesteps every ``stride``, as a read-only view of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_records, n_timesteps, n_leads)
    size, stride : int

    Returns
    -------
    windows : ndarray of shape (n_records, n_windows, size, n_leads)
        ``1 + (n_timesteps - size) // stride`` windows per record; samples
        after the last full window are dropped.
    """
    return sliding_window_view(X, size, axis=1)[:, ::stride].transpose(0, 1, 3, 2)


def random_crops(X, size, rng):
    """One crop of ``size`` timesteps of each record of ``X``, at a random start.

    ``X`` is ``(n, n_timesteps, n_leads)``; ``rng`` a :class:`numpy.random.Generator`.
    """
    starts = rng.integers(0, X.shape[1] - size + 1, size=len(X))
    return X[np.arange(len(X))[:, None], starts[:, None] + np.arange(size)]


def random_shifts(X, max_shift, rng):
    """Roll each record of ``X`` circularly by a random number of timesteps in ``±max_shift``.

    An ECG is quasi-periodic, so a rolled record is still a plausible record,
    while a network can no longer tie a feature to one absolute position.
    """
    shifts = rng.integers(-max_shift, max_shift + 1, size=len(X))
    steps = (np.arange(X.shape[1]) - shifts[:, None]) % X.shape[1]
    return X[np.arange(len(X))[:, None], steps]


def aggregate_windows(proba, aggregation):
    """One probability per record from the probabilities of its windows.

    Parameters
    ----------
    proba : ndarray of shape (n_records, n_windows, n_classes)
    aggregation : {"mean", "max"} or callable
        A callable is called as ``aggregation(proba, axis=1)``, as NumPy's
        reductions (:func:`numpy.median`, :func:`numpy.percentile` through
        :func:`functools.partial`) are.

    Returns
    -------
    proba : ndarray of shape (n_records, n_classes), float64
    """
    if aggregation == "mean":
        return proba.mean(axis=1, dtype=np.float64)
    if aggregation == "max":
        return proba.max(axis=1).astype(np.float64)
    pooled = np.asarray(aggregation(proba, axis=1), dtype=np.float64)
    expected = (proba.shape[0], proba.shape[2])
    if pooled.shape != expected:
        raise ValueError(
            f"window_aggregation returned probabilities of shape {pooled.shape} for windows of "
            f"shape {proba.shape}; it must reduce axis 1 to shape {expected}."
        )
    return pooled


def predict_windows(predict, X, aggregation, *, chunk_size):
    """Record probabilities of windowed records, predicted in chunks of windows.

    Parameters
    ----------
    predict : callable
        ``(n, n_timesteps, n_leads)`` windows -> ``(n, n_classes)`` probabilities.
    X : ndarray of shape (n_records, n_windows, n_timesteps, n_leads)
        Possibly a view of overlapping windows: only one chunk of about
        ``chunk_size`` windows is ever copied.
    aggregation : {"mean", "max"} or callable
        See :func:`aggregate_windows`.
    chunk_size : int
        Windows per call of ``predict``.
    """
    n_records, n_windows = X.shape[:2]
    records_per_chunk = max(1, chunk_size // n_windows)
    return np.concatenate(
        [
            aggregate_windows(
                predict(chunk.reshape(-1, *X.shape[2:])).reshape(len(chunk), n_windows, -1),
                aggregation,
            )
            for chunk in (
                X[start : start + records_per_chunk]
                for start in range(0, n_records, records_per_chunk)
            )
        ]
    )
