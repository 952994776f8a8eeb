"""A model's input contract applied to records: their rate, their leads, their length.

A saved model takes records at one sampling rate, with named leads in one order, at
least as long as the shortest it was trained on. Records from elsewhere are adapted
here, the same way for every entry point (``predict_proba``, ``cardionet predict``,
Dask scoring, ensembles, fine-tuning): resampled with an anti-aliasing polyphase
filter, their leads matched by name (usual aliases, any order, extra leads ignored),
their length checked against the model's minimum.
"""

from fractions import Fraction

import numpy as np

from ._constants import LEADS

#: Largest denominator of the rational approximation of a rate ratio: 257 Hz -> 100 Hz is
#: exactly 100/257, and rates given with decimals (e.g. 499.7 Hz) round to within 0.1 %.
_MAX_DENOMINATOR = 1000

#: Other spellings of the standard leads, upper-case (names are matched without case).
#: Einthoven's leads are also written DI, DII, DIII (common in Latin-American and
#: European exports); a "Lead " prefix ("Lead II") is dropped before matching.
_ALIASES = {"DI": "I", "DII": "II", "DIII": "III"}


def canonical_lead(name):
    """The standard name of a lead (upper-case, as in ``LEADS``) and its polarity.

    ``-aVR`` (Cabrera's inverted aVR) is aVR with polarity ``-1``: its signal is
    negated, not taken as it is. A name that is no standard lead comes back
    upper-cased, with polarity 1.
    """
    text = " ".join(str(name).split()).upper()
    polarity = 1.0
    if text.startswith("-") and len(text) > 1:
        text, polarity = text[1:].strip(), -1.0
    text = text.removeprefix("LEAD ")
    return _ALIASES.get(text, text), polarity


def select_leads(X, lead_names, model_leads):
    """The columns of ``X`` (last axis) for the model's leads, matched by name.

    Parameters
    ----------
    X : ndarray of shape (..., n_leads)
    lead_names : sequence of str
        Name of each column of ``X``: any case, usual aliases (``DII``, ``AVR``,
        ``-aVR``), any order; leads the model does not take are ignored.
    model_leads : sequence of str
        The leads the model takes, in its order.

    Raises
    ------
    ValueError
        If ``lead_names`` does not name each column once, or a lead of the
        model is missing (named in the message).
    """
    names = [str(name) for name in lead_names]
    if len(names) != X.shape[-1]:
        raise ValueError(
            f"lead_names has {len(names)} names, but X has {X.shape[-1]} leads (last axis)."
        )
    position, polarity = {}, {}
    for i, name in enumerate(names):
        lead, sign = canonical_lead(name)
        if lead in position:
            raise ValueError(f"lead_names names the lead {lead} twice: {' '.join(names)}.")
        position[lead], polarity[lead] = i, sign
    wanted = [canonical_lead(lead)[0] for lead in model_leads]
    missing = [str(lead) for lead, key in zip(model_leads, wanted) if key not in position]
    if missing:
        raise ValueError(
            f"the record lacks the lead(s) {' '.join(missing)} of the model, which takes the "
            f"{len(wanted)} leads {' '.join(map(str, model_leads))}; the record has "
            f"{' '.join(names)}."
        )
    columns = [position[key] for key in wanted]
    signs = np.asarray([polarity[key] for key in wanted], dtype=X.dtype)
    selected = X[..., columns]
    return selected * signs if np.any(signs < 0) else selected


def has_standard_leads(leads):
    """Whether every lead of ``leads`` is a standard ECG lead (so names can be matched)."""
    known = set(LEADS)
    return all(canonical_lead(lead)[0] in known for lead in leads)


def check_sampling_rate(rate, what="sampling_rate"):
    """``rate`` as a float, if it is a positive finite number of Hz."""
    try:
        value = float(rate)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number of Hz; got {rate!r}.") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive number of Hz; got {rate!r}.")
    return value


def resampling_factors(from_rate, to_rate):
    """``(up, down)``: the rational approximation of ``to_rate / from_rate``."""
    ratio = Fraction(to_rate / from_rate).limit_denominator(_MAX_DENOMINATOR)
    if ratio == 0:
        raise ValueError(
            f"cannot resample {from_rate:g} Hz records to {to_rate:g} Hz: the ratio is too small."
        )
    return ratio.numerator, ratio.denominator


def resample(X, from_rate, to_rate):
    """Records ``X`` (time on axis -2) resampled from ``from_rate`` to ``to_rate`` Hz.

    An anti-aliasing polyphase filter (:func:`scipy.signal.resample_poly`, a Kaiser
    window FIR) with the rational approximation of the rate ratio: unlike FFT
    resampling it assumes no periodic record (no ringing where the record's ends meet),
    and unlike plain decimation it removes what lies above the new Nyquist frequency
    first. ``benchmarks/resampling.py`` compares the three on PTB-XL's own 500 Hz
    records. Equal rates return ``X`` itself.
    """
    from_rate = check_sampling_rate(from_rate)
    to_rate = check_sampling_rate(to_rate, "the model's sampling rate")
    if from_rate == to_rate:
        return X
    from scipy.signal import resample_poly

    up, down = resampling_factors(from_rate, to_rate)
    # float64 inside the filter: float32 loses precision on 1000-tap filters.
    resampled = resample_poly(np.asarray(X, dtype=np.float64), up, down, axis=-2)
    return resampled.astype(np.float32)


def check_min_length(n_timesteps, min_timesteps, rate):
    """Raise if records of ``n_timesteps`` are shorter than ``min_timesteps`` at ``rate``."""
    if min_timesteps is not None and n_timesteps < min_timesteps:
        raise ValueError(
            f"the record is {n_timesteps / rate:g} s long ({n_timesteps} samples at "
            f"{rate:g} Hz), shorter than the {min_timesteps / rate:g} s the model needs at least "
            "(the shortest record it was trained on)."
        )
