"""Per-lead statistics of large ECG arrays, and the standardisation they serve."""

import numpy as np

#: Standard deviations below this (in signal units, mV for PTB-XL) count as a
#: flat lead: 1 nV is far below the noise floor of any real recording, so only
#: disconnected or zero-filled leads are affected; they are left unscaled.
MIN_SCALE = 1e-6

# Records per step: bounds the temporary copies to a few tens of MB.
_CHUNK = 1024


def lead_statistics(X, records=None):
    """Mean and standard deviation of each lead over every other axis.

    Sums run in float64 over chunks of records, so neither a float64 copy of
    ``X`` nor a copy of the selected ``records`` is ever held: a strided view
    of overlapping windows stays a view.

    Parameters
    ----------
    X : ndarray of shape (n_records, ..., n_leads)
    records : array-like of int, default=None
        Rows of ``X`` to use; all by default.

    Returns
    -------
    mean, scale : ndarray of shape (n_leads,), float64
        ``scale`` is 1 for flat leads (below :data:`MIN_SCALE`).
    """
    records = np.arange(X.shape[0]) if records is None else np.asarray(records)
    axes = tuple(range(X.ndim - 1))
    chunks = [records[i : i + _CHUNK] for i in range(0, len(records), _CHUNK)]
    count = len(records) * np.prod(X.shape[1:-1])
    mean = sum(X[c].sum(axis=axes, dtype=np.float64) for c in chunks) / count
    variance = (
        sum(np.square(X[c] - mean.astype(X.dtype)).sum(axis=axes, dtype=np.float64) for c in chunks)
        / count
    )
    scale = np.sqrt(variance)
    scale[scale < MIN_SCALE] = 1.0
    return mean, scale


def standardize(X, mean, scale, *, out=None):
    """``(X - mean) / scale`` per lead (last axis), as float32 unless ``out`` is given.

    The one standardisation of the package in NumPy: the classifier's training
    batches (statistics of its training records) and
    :class:`~cardionet_sk.PTBXLWindower`'s (of each record, or of the training
    records) go through it. Prediction computes the same arithmetic, in float32,
    inside the compiled network function and the exported graph. ``out`` may
    be ``X`` itself, to scale a private copy in place.
    """
    if out is None:
        # In float32 throughout, as prediction computes it: float64 intermediates would
        # triple the time of every batch.
        out = np.subtract(X, np.asarray(mean, dtype=np.float32), dtype=np.float32)
        out /= np.asarray(scale, dtype=np.float32)
        return out
    np.subtract(X, mean, out=out)
    out /= scale
    return out
