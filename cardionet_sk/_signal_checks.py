"""Sanity checks of ECG records: units, flat leads, clipped leads and heart rate.

A network trained on millivolt records at one sampling rate returns confident
nonsense for microvolt records, disconnected leads or records at another rate.
These checks look for the signatures of such mistakes, cheaply (vectorised over
records, in chunks) and conservatively: of the 19,634 real PTB-XL records of folds
1-9 they flag only one, whose lead V5 is truly flat
(``benchmarks/signal_checks_ptbxl.py``).
"""

import os
import sys
import warnings
from dataclasses import dataclass
from types import FrameType

import numpy as np
import scipy.fft

from ._constants import LEADS
from ._validation import check_ecg_array

#: A millivolt ECG lead spans a few mV: the median over leads of the peak-to-peak is
#: 0.38-9.5 mV on the PTB-XL records of folds 1-9, so microvolts (x1000) and ADC counts (at
#: 200 or more per mV) put every record above the threshold and no real one reaches it.
MAX_MEDIAN_PEAK_TO_PEAK = 50.0
#: Standard deviation below which a lead is flat: below the 1 µV resolution of any ECG.
FLAT_STD = 1e-6
#: Fraction of a lead's samples exactly at its maximum (or minimum) above which the lead is
#: clipped: a real lead reaches its extremes at a few R or S peaks, not in plateaus (at most
#: 1.8 % of the samples of a PTB-XL lead sit at its maximum or minimum).
CLIPPED_FRACTION = 0.04
#: Plausible heart rates, in beats per minute.
HEART_RATE_RANGE = (25.0, 250.0)
#: Autocorrelation a periodicity needs before its rate is believed: noise and irregular
#: rhythms (atrial fibrillation) have weak peaks and must not be read as a wrong rate.
_MIN_PERIODICITY = 0.5
#: A smaller lag wins if its peak is at least this fraction of the highest: beats repeat
#: at every multiple of their period, and the period is the first of them (as in pitch
#: detection), so a slow true rhythm is not mistaken for an implausible one.
_HARMONIC_FRACTION = 0.8
#: Seconds a beat's slope envelope stays correlated with itself (above one half) before a
#: slow rate is believed; see ``_apparent_heart_rate``.
_MIN_BEAT_WIDTH = 0.11
#: Records a warning names before "and N more".
_SHOWN = 5
#: Records per chunk, so that no temporary grows with the dataset.
_CHUNK = 256

KINDS = ("amplitude", "flat", "clipped", "heart_rate")


class SignalQualityWarning(UserWarning):
    """Records that do not look like millivolt ECGs at the model's sampling rate.

    Raised as a warning by :meth:`CardioNetClassifier.fit`,
    :meth:`~CardioNetClassifier.predict` and
    :meth:`~CardioNetClassifier.predict_proba`; turn it into an error with
    ``warnings.simplefilter("error", SignalQualityWarning)`` or silence it with
    ``signal_checks=False``. :func:`check_signal_quality` lists the problems.
    """


@dataclass(frozen=True)
class SignalProblem:
    """One problem of one record, as :func:`check_signal_quality` reports it.

    Attributes
    ----------
    record : int
        Row of ``X``.
    kind : {"amplitude", "flat", "clipped", "heart_rate"}
        What looks wrong.
    leads : tuple of str
        Leads concerned; empty for whole-record problems (amplitude, heart rate).
    message : str
        The problem and its likely cause, for people.
    """

    record: int
    kind: str
    leads: tuple[str, ...]
    message: str


def check_signal_quality(X, sampling_rate=100, *, leads=None):
    """Find records that do not look like millivolt ECGs at ``sampling_rate``.

    Four checks, tuned not to fire on real records: on the 19,634 PTB-XL
    records of folds 1-9 they flag one, ecg_id 12722, whose lead V5 is all
    zeros (PTB-XL notes electrode problems in V4 and V5 for it):

    - ``"amplitude"``: the median over leads of the peak-to-peak amplitude is
      above 50, where millivolt records span a few units: the record is likely
      in microvolts or raw ADC counts.
    - ``"flat"``: a lead's standard deviation is below 1e-6 (a constant lead,
      e.g. a disconnected electrode).
    - ``"clipped"``: more than 4 % (and at least 5) of a lead's samples sit
      exactly at its maximum or minimum, the plateau a saturated amplifier
      leaves.
    - ``"heart_rate"``: the beat period found by autocorrelation of the
      leads' combined slope is outside 25-250 bpm at ``sampling_rate``, as
      for records at another sampling rate. Only clear periodicities count,
      and a slow one also needs wide beats, so irregular or noisy records
      are not flagged; records shorter than 4 s can only be found too fast.

    Parameters
    ----------
    X : array-like of shape (n_records, n_timesteps, n_leads) or \
            (n_records, n_windows, n_timesteps, n_leads) or (n_records, n_timesteps)
        ECG records in millivolts, windows of them (each window is checked,
        problems are reported per record) or single-lead records.
    sampling_rate : float, default=100
        Sampling rate of ``X``, in Hz.
    leads : sequence of str, default=None
        Lead names used in messages; ``None`` means PTB-XL's order for 12
        leads and ``lead0, lead1, ...`` otherwise.

    Returns
    -------
    problems : list of SignalProblem
        Problems ordered by record, then by kind; empty for clean records.

    See Also
    --------
    SignalQualityWarning : What :class:`CardioNetClassifier` warns with.

    Examples
    --------
    >>> from cardionet_sk import check_signal_quality
    >>> from cardionet_sk.datasets import load_sample
    >>> X = load_sample().data
    >>> check_signal_quality(X)
    []
    >>> X = X * 1000  # microvolts
    >>> X[3, :, 8] = 0  # V3 disconnected
    >>> problems = check_signal_quality(X)
    >>> len(problems), problems[0].kind
    (53, 'amplitude')
    >>> print(problems[4].message)
    lead V3 is flat (disconnected?)
    """
    X = check_ecg_array(X, allow_windows=True, allow_2d=True)
    if not sampling_rate > 0:
        raise ValueError(f"sampling_rate must be positive; got {sampling_rate!r}.")
    return _problems(X, sampling_rate, _lead_names(leads, X.shape[-1]))


def warn_signal_quality(X, sampling_rate, *, action=True):
    """Warn (``action=True``) or raise (``"error"``) once if records of ``X`` look wrong.

    ``X`` is a validated 3-D or 4-D array (:func:`check_ecg_array`). The one
    message summarises the first few records; :func:`check_signal_quality`
    lists them all. ``action=False`` checks nothing. The warning points at
    the first caller outside this package, whichever method was called.
    """
    if action is False:
        return
    problems = _problems(X, sampling_rate, _lead_names(None, X.shape[-1]))
    if not problems:
        return
    by_record: dict[int, list[str]] = {}
    for problem in problems:
        by_record.setdefault(problem.record, []).append(problem.message)
    shown = [f"record {r}: {'; '.join(m)}" for r, m in list(by_record.items())[:_SHOWN]]
    more = f"; and {len(by_record) - len(shown)} more" if len(by_record) > len(shown) else ""
    message = (
        f"{len(by_record)} of {len(X)} records do not look like millivolt ECGs at "
        f"{sampling_rate:g} Hz: {'; '.join(shown)}{more}. "
        "cardionet_sk.check_signal_quality lists every problem."
    )
    if action == "error":
        raise ValueError(message)
    warnings.warn(message, SignalQualityWarning, stacklevel=_outside_stacklevel())


def _outside_stacklevel():
    """The ``stacklevel`` that makes our caller's warning point outside this package."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def _problems(X, sampling_rate, leads):
    """The problems of validated records ``X``, as :func:`check_signal_quality` returns."""
    findings = _findings(X, sampling_rate)
    return [
        problem
        for record in np.flatnonzero(_flagged(findings))
        for problem in _record_problems(int(record), findings, leads, sampling_rate)
    ]


def _lead_names(leads, n_leads):
    if leads is None:
        return LEADS if n_leads == len(LEADS) else tuple(f"lead{i}" for i in range(n_leads))
    if len(leads) != n_leads:
        raise ValueError(f"leads has {len(leads)} names for records of {n_leads} leads.")
    return tuple(str(lead) for lead in leads)


def _findings(X, sampling_rate):
    """Per-record measurements, reduced over the windows of 4-D ``X``.

    Returns a dict of arrays over records: ``amplitude`` (median peak-to-peak,
    NaN where plausible), ``flat`` and ``clipped`` (booleans per lead),
    ``rail`` (the clipped level per lead) and ``heart_rate`` (bpm, NaN where
    plausible or unknown). For windows, a record takes the values of its first
    window with each problem.
    """
    n_records = X.shape[0]
    segments = X.reshape(-1, *X.shape[-2:])
    parts = [
        _segment_findings(segments[start : start + _CHUNK], sampling_rate)
        for start in range(0, len(segments), _CHUNK)
    ]
    findings = {}
    for key in parts[0]:
        values = np.concatenate([part[key] for part in parts])
        values = values.reshape(n_records, -1, *values.shape[1:])
        flags = values if values.dtype == bool else ~np.isnan(values)
        first = np.expand_dims(flags.argmax(axis=1), 1)
        findings[key] = np.take_along_axis(values, first, axis=1)[:, 0]
    return findings


def _segment_findings(x, sampling_rate):
    """The measurements of ``_findings`` for a chunk of 3-D records ``(n, timesteps, leads)``."""
    # Leads first, in one contiguous float32 copy: every reduction below runs along time, and
    # float32 resolves far finer than any ECG.
    x = np.ascontiguousarray(np.swapaxes(x, 1, 2), dtype=np.float32)
    high, low = x.max(axis=2), x.min(axis=2)
    amplitude = np.median(high - low, axis=1)
    # Exactly constant, or varying below any ECG's resolution. A standard deviation below
    # FLAT_STD needs a peak-to-peak below FLAT_STD * sqrt(2 n_timesteps), so only such leads
    # are summed (in float64, so that float32 rounding cannot decide).
    flat = high - low < FLAT_STD * np.sqrt(2 * x.shape[2])
    flat[flat] = x[flat].std(axis=1, dtype=np.float64) < FLAT_STD
    at_high = (x == high[:, :, np.newaxis]).sum(axis=2)
    at_low = (x == low[:, :, np.newaxis]).sum(axis=2)
    at_rail = np.maximum(at_high, at_low)
    # A plateau needs a few samples: in a very short record one extreme sample is 4 %.
    clipped = (at_rail > CLIPPED_FRACTION * x.shape[2]) & (at_rail >= 5) & ~flat
    return {
        "amplitude": np.where(amplitude > MAX_MEDIAN_PEAK_TO_PEAK, amplitude, np.nan),
        "flat": flat,
        "clipped": clipped,
        "rail": np.where(clipped, np.where(at_high >= at_low, high, low), np.nan),
        "heart_rate": _apparent_heart_rate(x, sampling_rate),
    }


def _apparent_heart_rate(x, sampling_rate):
    """Beats per minute of each record's clearest periodicity, where implausible; else NaN.

    ``x`` is float32 records, leads first: ``(n_records, n_leads, n_timesteps)``.
    The envelope is the sum over leads of the absolute slope, each lead scaled
    to a mean of one so that no lead dominates and flat leads add nothing,
    smoothed over 50 ms so that beat-to-beat jitter does not split the
    autocorrelation peaks. The period is the first lag whose autocorrelation
    peak reaches ``_HARMONIC_FRACTION`` of the highest; lags run from 0.1 s
    (600 bpm) to 60 % of the record, so that every lag compares enough samples.

    Irregular rhythms and noise make spurious long-lag peaks, so a slow rate
    also needs wide beats, the other signature of a record at a higher sampling
    rate: the envelope's autocorrelation must stay above one half for
    ``_MIN_BEAT_WIDTH`` seconds. On PTB-XL at 100 Hz it falls below one half
    within 80 ms on the records whose autocorrelation alone suggests a slow
    rate (within 100 ms on all), and after 120 ms or more on 99 % of 2 s
    excerpts at 500 Hz read as 100 Hz, whose beats look five times wider.
    """
    n, _, n_timesteps = x.shape
    max_lag = int(0.6 * n_timesteps)
    min_lag = max(2, int(np.ceil(0.1 * sampling_rate)))
    rate = np.full(n, np.nan)
    if max_lag < min_lag + 2:
        return rate
    slope = np.subtract(x[:, :, 1:], x[:, :, :-1])
    np.abs(slope, out=slope)
    weights = 1.0 / (slope.mean(axis=2, dtype=np.float64) + 1e-12)
    envelope = np.einsum("nlt,nl->nt", slope, weights.astype(np.float32), dtype=np.float32)
    envelope = _moving_average(envelope, max(1, round(0.05 * sampling_rate)))
    envelope -= envelope.mean(axis=1, keepdims=True)
    length = envelope.shape[1]
    # Zero-padded to a fast FFT length of at least twice the signal: no circular wrap.
    size = scipy.fft.next_fast_len(2 * length, real=True)
    spectrum = scipy.fft.rfft(envelope, n=size, axis=1)
    corr = scipy.fft.irfft(np.abs(spectrum) ** 2, n=size, axis=1)[:, :length]
    corr /= corr[:, :1] + 1e-12
    beat_width = (corr < 0.5).argmax(axis=1) / sampling_rate
    # Unbiased: each lag's sum over its own number of overlapping samples.
    corr *= length / (length - np.arange(length))
    lags = np.arange(min_lag, min(max_lag, length - 1))
    peak = corr[:, lags]
    is_peak = (peak > corr[:, lags - 1]) & (peak >= corr[:, lags + 1])
    peak = np.where(is_peak, peak, -np.inf)
    best = peak.max(axis=1)
    first = (peak >= _HARMONIC_FRACTION * best[:, np.newaxis]).argmax(axis=1)
    found = best >= _MIN_PERIODICITY
    rate[found] = 60.0 * sampling_rate / lags[first[found]]
    low, high = HEART_RATE_RANGE
    plausible = (rate >= low) & (rate <= high) | ((rate < low) & (beat_width < _MIN_BEAT_WIDTH))
    rate[plausible] = np.nan
    return rate


def _moving_average(signal, width):
    """Mean of each run of ``width`` samples along the last axis ('valid' part)."""
    cumulative = np.cumsum(signal, axis=1)
    cumulative = np.concatenate([np.zeros_like(cumulative[:, :1]), cumulative], axis=1)
    return (cumulative[:, width:] - cumulative[:, :-width]) / width


def _flagged(findings):
    """Which records have any problem."""
    return (
        ~np.isnan(findings["amplitude"])
        | findings["flat"].any(axis=1)
        | findings["clipped"].any(axis=1)
        | ~np.isnan(findings["heart_rate"])
    )


def _record_problems(record, findings, leads, sampling_rate):
    """The problems of one flagged record, with their messages."""
    problems = []
    amplitude = findings["amplitude"][record]
    if not np.isnan(amplitude):
        problems.append(
            SignalProblem(
                record,
                "amplitude",
                (),
                f"amplitudes look like microvolts or raw ADC counts, not mV (median "
                f"peak-to-peak {amplitude:.4g}): divide microvolts by 1000, ADC counts by "
                "the gain",
            )
        )
    flat = [leads[i] for i in np.flatnonzero(findings["flat"][record])]
    if flat:
        names = f"lead {flat[0]} is" if len(flat) == 1 else f"leads {', '.join(flat)} are"
        problems.append(SignalProblem(record, "flat", tuple(flat), f"{names} flat (disconnected?)"))
    clipped = np.flatnonzero(findings["clipped"][record])
    if len(clipped):
        rails = findings["rail"][record]
        problems.append(
            SignalProblem(
                record,
                "clipped",
                tuple(leads[i] for i in clipped),
                ", ".join(f"lead {leads[i]} clipped at {rails[i]:.4g} mV" for i in clipped),
            )
        )
    rate = findings["heart_rate"][record]
    if not np.isnan(rate):
        problems.append(
            SignalProblem(
                record,
                "heart_rate",
                (),
                f"apparent heart rate {rate:.0f} bpm at {sampling_rate:g} Hz: is the "
                "sampling rate right?",
            )
        )
    return problems
