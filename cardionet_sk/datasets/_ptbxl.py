"""Loader of the PTB-XL dataset in its official PhysioNet layout."""

import hashlib
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .._constants import LEADS, SUPERCLASSES
from ._base import _load_descr, _make_bunch, _parse_scp_codes, get_data_home
from ._records import read_record

DATABASE_CSV = "ptbxl_database.csv"
STATEMENTS_CSV = "scp_statements.csv"


def _read_csv(path, *, index_col, required):
    if not path.is_file():
        raise FileNotFoundError(f"PTB-XL metadata file not found: {path}")
    table = pd.read_csv(path, index_col=index_col)
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {missing} of the PTB-XL release.")
    return table


def _read_metadata(root):
    """Read ``ptbxl_database.csv`` (with parsed ``scp_codes``) and ``scp_statements.csv``."""
    database = _read_csv(
        root / DATABASE_CSV,
        index_col="ecg_id",
        required=("patient_id", "scp_codes", "strat_fold", "filename_lr", "filename_hr"),
    )
    database["scp_codes"] = _parse_scp_codes(database["scp_codes"], source=root / DATABASE_CSV)
    statements = _read_csv(
        root / STATEMENTS_CSV, index_col=0, required=("diagnostic", "diagnostic_class")
    )
    return database, statements


def _superclass_target(scp_codes, statements):
    """Multi-label superclass indicator of each record, as in Strodthoff et al. (2020).

    A record has a superclass when any of its SCP codes, whatever its
    likelihood, is a diagnostic statement of that ``diagnostic_class``.

    Parameters
    ----------
    scp_codes : iterable of dict
        The parsed ``scp_codes`` of each record.
    statements : DataFrame
        ``scp_statements.csv`` indexed by SCP code.

    Returns
    -------
    target : ndarray of shape (n_records, 5), dtype int64
    """
    diagnostic = statements.loc[statements["diagnostic"] == 1, "diagnostic_class"]
    column = {name: j for j, name in enumerate(SUPERCLASSES)}
    column_of_code = {code: column[cls] for code, cls in diagnostic.items() if cls in column}
    scp_codes = list(scp_codes)
    target = np.zeros((len(scp_codes), len(SUPERCLASSES)), dtype=np.int64)
    for row, codes in zip(target, scp_codes):
        row[[column_of_code[c] for c in codes if c in column_of_code]] = 1
    return target


#: Folder of PTB-XL inside the data home, as in the official release.
PTBXL_FOLDER = "ptbxl"
_RECORD_COLUMN = {100: "filename_lr", 500: "filename_hr"}
_N_TIMESTEPS = {100: 1000, 500: 5000}


def fetch_ptbxl(
    data_home=None,
    *,
    sampling_rate=100,
    folds=None,
    download_if_missing=True,
    return_X_y=False,
    as_frame=False,
    drop_unlabelled=False,
    verbose=False,
):
    """Load PTB-XL records with their diagnostic superclass labels.

    PTB-XL holds 21,837 ten-second 12-lead ECGs of 18,885 patients, in ten
    stratified folds (Wagner et al. 2020). Labels follow the benchmark of
    Strodthoff et al. (2020): a record has a superclass (NORM, MI, STTC, CD,
    HYP) when any of its SCP codes, whatever its likelihood, is a diagnostic
    statement of that class.

    =================  =====================================
    Records            21,837 (19,634 in folds 1-9)
    Timesteps          1000 at 100 Hz, 5000 at 500 Hz (10 s)
    Leads              12, in millivolts
    Classes            5, multi-label
    =================  =====================================

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder that holds (or will hold) ``ptbxl/`` in the official PhysioNet
        layout: ``ptbxl_database.csv``, ``scp_statements.csv``,
        ``records100/``, ``records500/``. See :func:`get_data_home`.
    sampling_rate : {100, 500}, default=100
        Which copy of the records to read.
    folds : iterable of int in 1..10, default=None
        The ``strat_fold`` values to load; all by default. The benchmark trains
        on 1-8, validates on 9 and tests on 10.
    download_if_missing : bool, default=True
        Download the release from PhysioNet when the folder is missing.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Make ``target`` a DataFrame indexed by ``ecg_id``.
    drop_unlabelled : bool, default=False
        Drop the records without any superclass (kept, all-zero, by default).
    verbose : bool, default=False
        Report progress on stderr.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``data`` (n, timesteps, 12) float32 millivolts, ``target`` (n, 5)
        0/1, ``target_names``, ``lead_names``, ``sampling_rate``, ``fold``,
        ``ecg_id``, ``patient_id``, ``frame`` (the rows of
        ``ptbxl_database.csv``) and ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True

    Notes
    -----
    The first load parses every WFDB record and writes a memory-mappable
    cache (``ptbxl/.cache/``) that later loads read, as long as the metadata
    and record files are unchanged.

    PTB-XL: Wagner, Strodthoff, Bousseljot, Samek, Schaeffter (2020), PhysioNet,
    https://doi.org/10.13026/x4td-x982, CC BY 4.0.
    """
    if sampling_rate not in _RECORD_COLUMN:
        raise ValueError(f"sampling_rate must be 100 or 500 (Hz); got {sampling_rate!r}.")
    root = Path(get_data_home(data_home)) / PTBXL_FOLDER
    if not (root / DATABASE_CSV).is_file():
        if not download_if_missing:
            raise FileNotFoundError(
                f"PTB-XL not found in {root}. Download the release "
                f"(https://physionet.org/content/ptb-xl/1.0.1/) and unpack it there so that "
                f"{root / DATABASE_CSV} exists, or pass download_if_missing=True."
            )
        from ._download import download_ptbxl

        download_ptbxl(root, verbose=verbose)
    database, statements = _read_metadata(root)
    if folds is not None:
        folds = sorted({int(f) for f in folds})
        unknown = [f for f in folds if not 1 <= f <= 10]
        if unknown:
            raise ValueError(f"PTB-XL folds are 1 to 10; got {unknown}.")
        absent = sorted(set(folds) - set(database["strat_fold"]))
        if absent:
            raise ValueError(
                f"{root / DATABASE_CSV} has no record of fold(s) {absent}: this copy of PTB-XL "
                "is incomplete."
            )
        database = database[database["strat_fold"].isin(folds)]
    target = _superclass_target(database["scp_codes"], statements)
    if drop_unlabelled:
        keep = target.any(axis=1)
        database, target = database[keep], target[keep]
    data = _load_signals(
        root, database[_RECORD_COLUMN[sampling_rate]], _N_TIMESTEPS[sampling_rate], verbose=verbose
    )
    return _make_bunch(
        data,
        target,
        database,
        sampling_rate=sampling_rate,
        descr=_load_descr("ptbxl.rst"),
        return_X_y=return_X_y,
        as_frame=as_frame,
    )


def _load_signals(root, filenames, n_timesteps, *, verbose):
    """Signals of the records, from the cache when it is up to date, else parsed and cached."""
    paths = [root / f for f in filenames]
    cache = root / ".cache" / f"{_fingerprint(root, paths)}.npy"
    if cache.is_file():
        return np.load(cache, mmap_mode="r")
    data = np.empty((len(paths), n_timesteps, len(LEADS)), dtype=np.float32)
    for i, path in enumerate(paths):
        record = read_record(path)
        if record.signal.shape != data.shape[1:]:
            raise ValueError(
                f"WFDB record {path} has shape {record.signal.shape}; PTB-XL records have "
                f"{data.shape[1:]}."
            )
        data[i] = record.signal
        if verbose and (i + 1) % 2000 == 0:
            print(f"fetch_ptbxl: parsed {i + 1}/{len(paths)} records", file=sys.stderr)
    cache.parent.mkdir(exist_ok=True)
    partial = cache.with_suffix(".partial.npy")
    np.save(partial, data)
    os.replace(partial, cache)
    return np.load(cache, mmap_mode="r")


def _fingerprint(root, paths):
    """A digest of the metadata and of every record file's name, size and modification time:
    any change to the source gives another cache file."""
    digest = hashlib.sha256()
    for path in [
        root / DATABASE_CSV,
        root / STATEMENTS_CSV,
        *(p.with_name(p.name + suffix) for p in paths for suffix in (".hea", ".dat")),
    ]:
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise FileNotFoundError(f"PTB-XL file not found: {path}") from None
        digest.update(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:20]
