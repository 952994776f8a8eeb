"""Reading single WFDB records into millivolts, with errors that name the file at fault.

The header is parsed here, not by wfdb: wfdb reads headers as ASCII (``µV`` becomes ``V``),
rejects a record line that names the record with its extension (``A0001.mat 12 500 ...``)
and reads a negative or exponent sampling rate as another number. Signal files in MATLAB
format (the PhysioNet/CinC Challenge layout: ``val``, one row per signal) are read with
SciPy, any MATLAB version; all other signal files with :func:`wfdb.rdrecord`.
"""

import errno
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb
from sklearn.utils import Bunch

# Millivolts per unit of the voltage units found in WFDB headers; wfdb reads a
# header without units as millivolts.
_MILLIVOLTS_PER_UNIT = {"v": 1e3, "mv": 1.0, "uv": 1e-3, "nv": 1e-6}

#: The fields of a signal line's format (``16x1:0+24``) and of its gain (``1000.0(0)/mV``).
_FORMAT = re.compile(r"(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?")
_GAIN = re.compile(r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)?(?:\((-?\d+)\))?(?:/(.+))?")
_RATE = re.compile(r"\d+\.?\d*|\.\d+")

#: The WFDB signal file formats (those wfdb reads).
_FORMATS = frozenset(
    {"8", "16", "24", "32", "61", "80", "160", "212", "310", "311", "508", "516", "524"}
)

#: Bytes per sample of the WFDB formats whose file size follows from the header.
_BYTES_PER_SAMPLE = {"8": 1, "80": 1, "16": 2, "61": 2, "160": 2, "24": 3, "32": 4}

#: Extensions by which a record may be named besides its header's.
_SIGNAL_EXTENSIONS = (".mat", ".dat")


@dataclass
class _Header:
    """What :func:`read_record` needs of a WFDB header, one list entry per signal."""

    path: Path
    sampling_rate: int | float
    n_samples: int | None  # None: not declared, the signal file tells
    files: list
    formats: list
    samples_per_frame: list
    byte_offsets: list
    gains: list
    baselines: list
    units: list
    names: list
    comments: list
    named_with_extension: bool = False


def _record_name(path):
    """The WFDB record name (path without extension) of ``path``.

    ``rec.hea`` is ``rec``; so are ``rec.mat`` and ``rec.dat`` when ``rec.hea`` exists.
    """
    path = Path(path)
    if path.suffix == ".hea":
        return path.with_suffix("")
    if (
        path.suffix.lower() in _SIGNAL_EXTENSIONS
        and path.with_suffix(".hea").is_file()
        and not path.with_name(path.name + ".hea").is_file()
    ):
        return path.with_suffix("")
    return path


def _malformed(header, problem):
    return ValueError(f"Malformed WFDB header {header}: {problem}")


def _too_short(name, header, n_samples):
    return ValueError(
        f"WFDB record {name} has {n_samples} sample(s) per signal (header {header}); "
        "at least 2 are needed."
    )


def _read_header(name):
    """Parse the header of record ``name``; None for a multi-segment record."""
    path = name.with_name(name.name + ".hea")
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "WFDB header not found", str(path))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # µ written as the single Latin-1 byte 0xB5
        text = raw.decode("latin-1")
    lines = [line.strip() for line in text.splitlines()]
    comments = [line.lstrip("#").strip() for line in lines if line.startswith("#")]
    specs = [line for line in lines if line and not line.startswith("#")]
    if not specs:
        raise _malformed(path, "it has no record line.")
    tokens = specs[0].split()
    if len(tokens) < 2 or not tokens[1].isdigit():
        raise _malformed(path, f"its record line {specs[0]!r} does not give the number of signals.")
    if "/" in tokens[0]:
        return None
    n_signals, n_described = int(tokens[1]), len(specs) - 1
    if n_signals != n_described:
        raise _malformed(
            path,
            f"its record line declares {n_signals} signals but it describes {n_described}.",
        )
    if n_signals == 0:
        raise ValueError(f"WFDB record {name} holds no signal (header {path}).")
    n_samples = _parse_sample_count(tokens, path)
    if n_samples is not None and n_samples < 2:
        raise _too_short(name, path, n_samples)
    signals = [_parse_signal_line(line, path, i) for i, line in enumerate(specs[1:])]
    files, formats, frames, offsets, gains, baselines, units, names = map(list, zip(*signals))
    return _Header(
        path=path,
        sampling_rate=_parse_sampling_rate(tokens, path),
        n_samples=n_samples,
        files=files,
        formats=formats,
        samples_per_frame=frames,
        byte_offsets=offsets,
        gains=gains,
        baselines=baselines,
        units=units,
        names=names,
        comments=comments,
        named_with_extension=tokens[0].lower().endswith((".hea", *_SIGNAL_EXTENSIONS)),
    )


def _parse_sampling_rate(tokens, path):
    """Samples per second of the record line ``tokens``, int when whole; WFDB's 250 if absent."""
    if len(tokens) < 3:
        return 250
    text = tokens[2].split("/")[0]  # then come the counter frequency and base counter
    rate = float(text) if _RATE.fullmatch(text) else 0.0
    if not 0 < rate < np.inf:
        raise _malformed(
            path,
            f"its record line gives the sampling frequency {text!r}; it must be a positive "
            "number of samples per second.",
        )
    return int(rate) if rate.is_integer() else rate


def _parse_sample_count(tokens, path):
    if len(tokens) < 4:
        return None
    if not tokens[3].isdigit():
        raise _malformed(path, f"its record line gives the number of samples {tokens[3]!r}.")
    return int(tokens[3])


def _parse_signal_line(line, path, index):
    """``(file, format, samples per frame, byte offset, gain, baseline, units, name)``.

    Absent fields take the WFDB defaults: gain 200 (also for a gain of 0), baseline the
    ADC zero (else 0), units mV; wfdb's name None.
    """
    tokens = line.split(maxsplit=8)
    fmt = _FORMAT.fullmatch(tokens[1]) if len(tokens) > 1 else None
    gain = _GAIN.fullmatch(tokens[2] if len(tokens) > 2 else "")
    adc_zero = tokens[4] if len(tokens) > 4 else "0"
    if fmt is None or gain is None or not re.fullmatch(r"-?\d+", adc_zero):
        raise _malformed(path, f"cannot read its signal line {index + 1}, {line!r}.")
    if fmt[1] not in _FORMATS:
        raise _malformed(path, f"signal line {index + 1} gives the unknown format {fmt[1]!r}.")
    adc_gain = float(gain[1]) if gain[1] else 0.0
    if not np.isfinite(adc_gain):
        raise _malformed(path, f"signal line {index + 1} gives the gain {gain[1]!r}.")
    return (
        tokens[0],
        fmt[1],
        int(fmt[2] or 1),
        int(fmt[4] or 0),
        adc_gain or 200.0,
        int(gain[2] if gain[2] is not None else adc_zero),
        gain[3] or "mV",
        tokens[8] if len(tokens) > 8 else None,
    )


def _read_digital(name, header):
    """The stored samples of a single-segment record, shape (n_samples, n_signals)."""
    files = list(dict.fromkeys(header.files))
    for file in files:
        if not (name.parent / file).is_file():
            raise FileNotFoundError(
                errno.ENOENT,
                f"Signal file of WFDB header {header.path} not found",
                str(name.parent / file),
            )
    if all(file.lower().endswith(".mat") for file in files):
        return _read_mat_files(name, header, files)
    if header.named_with_extension:
        raise _malformed(
            header.path,
            "its record line names the record with a file extension, which wfdb cannot "
            "read for signal files other than MATLAB ones; remove the extension.",
        )
    try:
        record = wfdb.rdrecord(str(name), physical=False)
    except Exception as exc:  # wfdb raises IndexError, TypeError, ... on bad files
        raise _explain_read_error(name, header, exc) from exc
    digital = record.d_signal
    if digital is None or digital.ndim != 2 or digital.shape[1] != len(header.files):
        raise ValueError(f"WFDB record {name} holds no signal (header {header.path}).")
    _check_file_sizes(name, header, len(digital))
    return digital


def _read_mat_files(name, header, files):
    """The samples of a record stored in MATLAB files, each signal in the header's place."""
    parts = {file: _read_mat(name.parent / file, file, header) for file in files}
    lengths = {len(part) for part in parts.values()}
    if len(lengths) > 1:
        raise ValueError(
            f"The MATLAB signal files of WFDB header {header.path} hold different numbers "
            f"of samples: {', '.join(f'{f} {len(p)}' for f, p in parts.items())}."
        )
    digital = np.empty((lengths.pop(), len(header.files)), dtype=np.result_type(*parts.values()))
    for file, part in parts.items():
        digital[:, [i for i, f in enumerate(header.files) if f == file]] = part
    return digital


def _read_mat(path, file, header):
    """The samples of one MATLAB signal file, shape (n_samples, its n_signals).

    The file holds them in ``val``, one row per signal of the header that names the file
    ``file``, in the header's order (the layout of ``wfdb2mat`` and of the PhysioNet
    Challenges).
    """
    from scipy.io import loadmat

    rows = [i for i, f in enumerate(header.files) if f == file]
    if any(header.samples_per_frame[i] != 1 for i in rows):
        raise ValueError(
            f"WFDB header {header.path} stores several samples per frame in the MATLAB file "
            f"{path}; only one sample per frame is supported there."
        )
    try:
        contents = loadmat(path)
    except Exception as exc:  # scipy raises ValueError, MatReadError, OSError, ...
        raise ValueError(
            f"Could not read the MATLAB signal file {path} ({path.stat().st_size} bytes) of "
            f"WFDB header {header.path}: it is truncated or corrupt. scipy said: {exc}"
        ) from exc
    if "val" not in contents:
        held = ", ".join(k for k in contents if not k.startswith("__")) or "nothing"
        raise ValueError(
            f"MATLAB signal file {path} of WFDB header {header.path} holds no variable "
            f"'val', where the samples are stored (it holds: {held})."
        )
    val = np.asarray(contents["val"])
    if val.ndim != 2 or val.dtype.kind not in "iuf" or val.shape[0] != len(rows):
        raise ValueError(
            f"MATLAB signal file {path}: 'val' is {val.dtype} of shape {val.shape}, but WFDB "
            f"header {header.path} describes {len(rows)} signals in it: expected numbers of "
            f"shape ({len(rows)}, n_samples)."
        )
    if val.dtype.kind == "f" and not np.array_equal(val, np.round(val), equal_nan=True):
        raise ValueError(
            f"MATLAB signal file {path} of WFDB header {header.path}: 'val' holds fractional "
            "numbers, but signal files hold stored (digital) samples, whole numbers."
        )
    if header.n_samples is not None and val.shape[1] != header.n_samples:
        raise ValueError(
            f"WFDB header {header.path} declares {header.n_samples} samples per signal, but "
            f"its signal file {path} holds {val.shape[1]}."
        )
    return val.T


def _check_file_sizes(name, header, n_samples):
    """Raise if a signal file is longer than the header's sample count: wfdb reads the
    declared samples and ignores the rest, which would hide a wrong header."""
    if header.n_samples is None:
        return
    for file in dict.fromkeys(header.files):
        signals = [i for i, f in enumerate(header.files) if f == file]
        formats = {header.formats[i] for i in signals}
        if len(formats) != 1 or not formats <= _BYTES_PER_SAMPLE.keys():
            continue
        frame = sum(header.samples_per_frame[i] for i in signals)
        frame_bytes = frame * _BYTES_PER_SAMPLE[formats.pop()]
        offset = header.byte_offsets[signals[0]]
        path = name.parent / file
        size = path.stat().st_size
        if size > offset + n_samples * frame_bytes:
            held = (size - offset) / frame_bytes
            raise ValueError(
                f"WFDB header {header.path} declares {n_samples} samples per signal, but "
                f"its signal file {path} ({size} bytes) holds {held:g}."
            )


def _explain_read_error(name, header, exc):
    """The exception to raise in place of wfdb's ``exc``, naming the faulty file."""
    signal_files = [name.parent / f for f in dict.fromkeys(header.files)]
    sizes = ", ".join(f"{f} ({f.stat().st_size} bytes)" for f in signal_files)
    return ValueError(
        f"Could not read the signal file {sizes}: {header.path} declares {header.n_samples} "
        f"samples of {len(header.files)} signals in format {header.formats[0]}, so the file is "
        f"probably truncated or corrupt. wfdb said: {exc!r}"
    )


def _read_multisegment(name):
    """The header fields and stored samples of a multi-segment record, read by wfdb."""
    path = name.with_name(name.name + ".hea")
    try:
        record = wfdb.rdrecord(str(name), physical=False)
    except Exception as exc:
        raise ValueError(f"Could not read the multi-segment WFDB record {name}: {exc!r}") from exc
    if record.d_signal is None or record.d_signal.ndim != 2:
        raise ValueError(f"WFDB record {name} holds no signal (header {path}).")
    n_signals = record.d_signal.shape[1]
    header = _Header(
        path,
        record.fs,
        len(record.d_signal),
        [None] * n_signals,
        record.fmt,
        [1] * n_signals,
        [0] * n_signals,
        record.adc_gain,
        record.baseline,
        record.units,
        record.sig_name,
        record.comments,
    )
    return header, record.d_signal


def _millivolts_per_unit(names, units, name):
    """Per-lead factor from the header's units to millivolts."""
    scale = []
    for lead, unit in zip(names, units):
        key = (unit or "mV").strip().lower().replace("µ", "u").replace("μ", "u")
        if key not in _MILLIVOLTS_PER_UNIT:
            raise ValueError(
                f"WFDB record {name}: lead {lead} is in units {unit!r}, which cannot be "
                f"converted to millivolts; expected one of V, mV, uV, nV."
            )
        scale.append(_MILLIVOLTS_PER_UNIT[key])
    return np.asarray(scale)


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


def _physical(digital, header, name):
    """The record's signal in float64 millivolts; NaN (missing samples) are an error."""
    record = wfdb.Record(
        d_signal=digital, fmt=header.formats, adc_gain=header.gains, baseline=header.baselines
    )
    signal = record.dac()
    missing = np.isnan(signal)
    if missing.any():
        empty = [header.names[i] for i in np.flatnonzero(missing.all(axis=0))]
        if empty:
            raise ValueError(
                f"WFDB record {name}: lead {', '.join(map(str, empty))} holds no sample, all "
                f"{len(signal)} are missing (NaN). Drop or repair this record."
            )
        t, lead = np.argwhere(missing)[0]
        raise ValueError(
            f"WFDB record {name} has {int(missing.sum())} missing samples (NaN), the first in "
            f"lead {header.names[lead]} at sample {t}. Drop or repair this record."
        )
    signal *= _millivolts_per_unit(header.names, header.units, name)
    return signal


def read_record(path):
    """Read one WFDB record into millivolts.

    Parameters
    ----------
    path : str or path-like
        The record, with or without the ``.hea`` extension of its header, e.g.
        ``"records100/00000/00001_lr"``, or the ``.mat`` or ``.dat`` signal file
        of a record of the same name. Any sampling rate and number of leads is
        accepted. Signal files may be WFDB binary files or MATLAB files (the
        PhysioNet/CinC Challenge 2020-2021 layout: ``val`` of shape
        (n_leads, n_samples), any MATLAB file version).

    Returns
    -------
    record : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        signal : ndarray of shape (n_timesteps, n_leads), dtype float32
            The signal in millivolts: the stored samples less their baseline,
            divided by their gain, in V, mV (``mv`` too), uV (``µV``) or nV
            converted to mV.
        sampling_rate : int or float
            Samples per second, from the header; an int when whole.
        lead_names : ndarray of shape (n_leads,), dtype object
            Lead names as written in the header (``aVR`` or ``AVR``), in its order.
        units : str
            Always ``"mV"``, the units of ``signal``.
        comments : list of str
            The header's comment lines without their ``#``, e.g. ``"Dx: 426783006"``;
            :func:`snomed_codes` reads the diagnoses of a PhysioNet Challenge record.

    Raises
    ------
    FileNotFoundError
        If the header or a signal file it names does not exist.
    ValueError
        If the header is malformed (including a sampling rate that is not a
        positive number), a signal file is truncated, corrupt or holds another
        number of samples than the header declares, the record has fewer than
        2 samples, a lead is not in voltage units, or a sample is missing (NaN).

    See Also
    --------
    fetch_ptbxl : Load whole PTB-XL folds with labels.
    snomed_codes : The SNOMED CT codes of a record's ``Dx`` comment.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import wfdb
    >>> from cardionet_sk.datasets import read_record
    >>> folder = tempfile.mkdtemp()
    >>> signal = np.column_stack([np.sin(np.linspace(0, 6, 500)), np.zeros(500)])
    >>> wfdb.wrsamp("demo", fs=100, units=["mV", "mV"], sig_name=["I", "II"],
    ...             p_signal=signal, fmt=["16", "16"], write_dir=folder,
    ...             comments=["Dx: 426783006"])
    >>> record = read_record(f"{folder}/demo.hea")
    >>> record.signal.shape, record.signal.dtype, record.sampling_rate
    ((500, 2), dtype('float32'), 100)
    >>> record.lead_names.tolist(), record.comments
    (['I', 'II'], ['Dx: 426783006'])
    """
    name = _record_name(path)
    header = _read_header(name)
    if header is None:
        header, digital = _read_multisegment(name)
    else:
        digital = _read_digital(name, header)
    if len(digital) < 2:
        raise _too_short(name, header.path, len(digital))
    if not header.sampling_rate > 0:
        raise _malformed(header.path, f"its sampling frequency is {header.sampling_rate}.")
    return Bunch(
        signal=_physical(digital, header, name).astype(np.float32),
        sampling_rate=header.sampling_rate,
        lead_names=np.asarray(header.names, dtype=object),
        units="mV",
        comments=list(header.comments),
    )
