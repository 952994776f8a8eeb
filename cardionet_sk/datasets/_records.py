"""Reading single WFDB records into millivolts, with errors that name the file at fault."""

import errno
from pathlib import Path

import numpy as np
import wfdb
from sklearn.utils import Bunch

# Millivolts per unit of the voltage units found in WFDB headers; wfdb reads a
# header without units as millivolts.
_MILLIVOLTS_PER_UNIT = {"v": 1e3, "mv": 1.0, "uv": 1e-3, "nv": 1e-6}


def _record_name(path):
    """The WFDB record name (path without extension) of ``path``."""
    path = Path(path)
    return path.with_suffix("") if path.suffix == ".hea" else path


def _read_digital(path):
    """Read a record's digital samples and calibration with :func:`wfdb.rdrecord`.

    wfdb reports missing signal files without their name and corrupt files with
    messages such as "cannot reshape array"; these are re-raised naming the file.

    Returns
    -------
    record : wfdb.Record
        With ``d_signal`` of shape (n_timesteps, n_leads).
    name : pathlib.Path
        The record name, for later error messages.
    """
    name = _record_name(path)
    header = name.with_name(name.name + ".hea")
    if not header.is_file():
        raise FileNotFoundError(errno.ENOENT, "WFDB header not found", str(header))
    try:
        record = wfdb.rdrecord(str(name), physical=False)
    except Exception as exc:  # wfdb raises IndexError, TypeError, ... on bad files
        raise _explain_read_error(name, header, exc) from exc
    if record.d_signal is None or record.d_signal.ndim != 2:
        raise ValueError(f"WFDB record {name} holds no signal (header {header}).")
    return record, name


def _explain_read_error(name, header, exc):
    """The exception to raise in place of wfdb's ``exc``, naming the faulty file."""
    try:
        meta = wfdb.rdheader(str(name))
    except Exception as header_exc:
        return ValueError(f"Malformed WFDB header {header}: {header_exc!r}")
    n_described = len(meta.file_name or [])
    if meta.n_sig != n_described:
        return ValueError(
            f"Malformed WFDB header {header}: its record line declares {meta.n_sig} signals "
            f"but it describes {n_described}."
        )
    signal_files = [name.parent / f for f in dict.fromkeys(meta.file_name)]
    missing = [f for f in signal_files if not f.is_file()]
    if missing:
        return FileNotFoundError(
            errno.ENOENT, f"Signal file of WFDB header {header} not found", str(missing[0])
        )
    sizes = ", ".join(f"{f} ({f.stat().st_size} bytes)" for f in signal_files)
    return ValueError(
        f"Could not read the signal file {sizes}: {header} declares {meta.sig_len} samples "
        f"of {meta.n_sig} signals in format {meta.fmt[0]}, so the file is probably truncated "
        f"or corrupt. wfdb said: {exc!r}"
    )


def _millivolts_per_unit(record, name):
    """Per-lead factor from the header's units to millivolts."""
    scale = []
    for lead, unit in zip(record.sig_name, record.units):
        key = (unit or "mV").strip().lower().replace("µ", "u").replace("μ", "u")
        if key not in _MILLIVOLTS_PER_UNIT:
            raise ValueError(
                f"WFDB record {name}: lead {lead} is in units {unit!r}, which cannot be "
                f"converted to millivolts; expected one of V, mV, uV, nV."
            )
        scale.append(_MILLIVOLTS_PER_UNIT[key])
    return np.asarray(scale)


def _calibration(record, name):
    """``(baseline, adc_gain, scale)`` per lead, the inputs of :func:`_digital_to_millivolts`."""
    return (
        np.asarray(record.baseline, dtype=np.int64),
        np.asarray(record.adc_gain, dtype=np.float64),
        _millivolts_per_unit(record, name),
    )


def _digital_to_millivolts(digital, baseline, adc_gain, scale):
    """Convert stored digital samples to float64 millivolts.

    The arithmetic is that of :meth:`wfdb.Record.dac` followed by the unit
    scaling of :func:`_physical`, so both give bit-identical results.
    ``baseline``, ``adc_gain`` and ``scale`` broadcast against the lead axis.
    """
    signal = digital.astype(np.float64)
    signal -= baseline
    signal /= adc_gain
    signal *= scale
    return signal


def _physical(record, name):
    """The record's signal in float64 millivolts; NaN (missing samples) are an error."""
    signal = record.dac()
    missing = np.isnan(signal)
    if missing.any():
        t, lead = np.argwhere(missing)[0]
        raise ValueError(
            f"WFDB record {name} has {int(missing.sum())} missing samples (NaN), the first in "
            f"lead {record.sig_name[lead]} at sample {t}. Drop or repair this record."
        )
    signal *= _millivolts_per_unit(record, name)
    return signal


def read_record(path):
    """Read one WFDB record into millivolts.

    Parameters
    ----------
    path : str or path-like
        The record, with or without the ``.hea`` extension of its header, e.g.
        ``"records100/00000/00001_lr"``. Any sampling rate and number of leads
        is accepted.

    Returns
    -------
    record : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        signal : ndarray of shape (n_timesteps, n_leads), dtype float32
            The signal in millivolts. Leads recorded in V, uV or nV are
            converted.
        sampling_rate : int or float
            Samples per second, from the header.
        lead_names : ndarray of shape (n_leads,), dtype object
            Lead names, in the order of the header.
        units : str
            Always ``"mV"``, the units of ``signal``.

    Raises
    ------
    FileNotFoundError
        If the header or a signal file it names does not exist.
    ValueError
        If the header is malformed, a signal file is truncated, a lead is not
        in voltage units, or a sample is missing (NaN).

    See Also
    --------
    fetch_ptbxl : Load whole PTB-XL folds with labels.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import wfdb
    >>> from cardionet_sk.datasets import read_record
    >>> folder = tempfile.mkdtemp()
    >>> signal = np.column_stack([np.sin(np.linspace(0, 6, 500)), np.zeros(500)])
    >>> wfdb.wrsamp("demo", fs=100, units=["mV", "mV"], sig_name=["I", "II"],
    ...             p_signal=signal, fmt=["16", "16"], write_dir=folder)
    >>> record = read_record(f"{folder}/demo.hea")
    >>> record.signal.shape, record.signal.dtype, record.sampling_rate
    ((500, 2), dtype('float32'), 100)
    >>> record.lead_names.tolist()
    ['I', 'II']
    """
    record, name = _read_digital(path)
    fs = float(record.fs)
    return Bunch(
        signal=_physical(record, name).astype(np.float32),
        sampling_rate=int(fs) if fs.is_integer() else fs,
        lead_names=np.asarray(record.sig_name, dtype=object),
        units="mV",
    )
