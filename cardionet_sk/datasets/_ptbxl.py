"""The PTB-XL loader, and what PTB-XL defines: metadata columns, folds, records."""

import ast
import functools
import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .._constants import LEADS, SUPERCLASSES
from ._base import _load_descr, _make_bunch, get_data_home
from ._cache import load_or_build
from ._ptbxl_tasks import STATEMENT_COLUMNS, _check_task, _task_target
from ._records import read_record

DATABASE_CSV = "ptbxl_database.csv"
STATEMENTS_CSV = "scp_statements.csv"


def _parse_scp_codes(values, *, source):
    """Parse the ``scp_codes`` column, dict literals such as ``{'NORM': 100.0}``."""
    parsed = []
    for ecg_id, text in values.items():
        try:
            codes = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            codes = None
        if not isinstance(codes, dict):
            raise ValueError(
                f"{source}: scp_codes of ecg_id {ecg_id} is not a dict literal: {text!r}"
            )
        parsed.append(codes)
    return pd.Series(parsed, index=values.index, name=values.name, dtype=object)


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
        required=(
            "patient_id",
            "age",
            "sex",
            "scp_codes",
            "strat_fold",
            "filename_lr",
            "filename_hr",
        ),
    )
    database["scp_codes"] = _parse_scp_codes(database["scp_codes"], source=root / DATABASE_CSV)
    statements = _read_csv(root / STATEMENTS_CSV, index_col=0, required=STATEMENT_COLUMNS)
    return database, statements


def _superclass_target(scp_codes, statements):
    """Multi-label indicator of the five superclasses of each record, an int64 array."""
    return _task_target(scp_codes, statements, "superdiagnostic")[0]


def _ptbxl_bunch(
    data,
    target,
    frame,
    *,
    sampling_rate,
    descr,
    return_X_y,
    as_frame,
    target_names=SUPERCLASSES,
    **fields,
):
    """Assemble what the PTB-XL loaders return from arrays aligned with ``frame``'s rows.

    ``frame`` holds rows of ``ptbxl_database.csv``, indexed by ``ecg_id``; ``fields``
    are further Bunch attributes of the loader's own.
    """
    return _make_bunch(
        data,
        target,
        target_names=target_names,
        index=frame.index,
        descr=descr,
        return_X_y=return_X_y,
        as_frame=as_frame,
        lead_names=np.asarray(LEADS, dtype=object),
        sampling_rate=sampling_rate,
        fold=frame["strat_fold"].to_numpy(dtype=np.int64),
        ecg_id=frame.index.to_numpy(dtype=np.int64),
        patient_id=frame["patient_id"].to_numpy(dtype=np.int64),
        age=frame["age"].to_numpy(dtype=np.float64),
        sex=frame["sex"].to_numpy(dtype=np.int64),
        frame=frame,
        **fields,
    )


#: Folder of PTB-XL inside the data home, as in the official release.
PTBXL_FOLDER = "ptbxl"
_RECORD_COLUMN = {100: "filename_lr", 500: "filename_hr"}
_N_TIMESTEPS = {100: 1000, 500: 5000}


def fetch_ptbxl(
    data_home=None,
    *,
    task="superdiagnostic",
    sampling_rate=100,
    folds=None,
    download_if_missing=True,
    return_X_y=False,
    as_frame=False,
    drop_unlabelled=False,
    verbose=False,
):
    """Load PTB-XL records with the labels of one of its benchmark tasks.

    PTB-XL holds 21,837 ten-second 12-lead ECGs of 18,885 patients, in ten
    stratified folds (Wagner et al. 2020). Each record carries SCP-ECG
    statements; ``task`` chooses the label set built from them, as the
    benchmark of Strodthoff et al. (2020) builds it: by default the five
    diagnostic superclasses (NORM, MI, STTC, CD, HYP).

    =================  =====================================
    Records            21,837 (19,634 in folds 1-9)
    Timesteps          1000 at 100 Hz, 5000 at 500 Hz (10 s)
    Leads              12, in millivolts
    Labels             5 to 71 by task, multi-label
    =================  =====================================

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder that holds (or will hold) ``ptbxl/`` in the official PhysioNet
        layout: ``ptbxl_database.csv``, ``scp_statements.csv``,
        ``records100/``, ``records500/``. See :func:`get_data_home`.
    task : {"superdiagnostic", "subdiagnostic", "diagnostic", "form", \
"rhythm", "all"}, default="superdiagnostic"
        The label set, one of the benchmark's tasks (see Notes):

        - ``"superdiagnostic"``: the 5 diagnostic superclasses, the
          ``diagnostic_class`` of the diagnostic statements;
        - ``"subdiagnostic"``: the 23 diagnostic subclasses, their
          ``diagnostic_subclass``;
        - ``"diagnostic"``: the 44 diagnostic statements themselves;
        - ``"form"``: the 19 form statements;
        - ``"rhythm"``: the 12 rhythm statements;
        - ``"all"``: all 71 statements.

        The counts are those of the full release; folds 1-9 alone carry
        every statement too, so they get the same labels.
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
        Drop the records without any label of ``task``, as the benchmark does.
        By default they are kept, as all-zero rows of ``target``.
    verbose : bool, default=False
        Report progress on stderr.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : memmap of shape (n_records, n_timesteps, 12), dtype float32
            The signals in millivolts, read-only.
        target : ndarray of shape (n_records, n_labels), dtype int64, or \
DataFrame
            Multi-label indicator of the labels ``target_names``.
        target_names : ndarray of shape (n_labels,)
            The labels of ``task``: ``NORM, MI, STTC, CD, HYP`` for
            ``"superdiagnostic"``, else in sorted order, as the benchmark's
            :class:`~sklearn.preprocessing.MultiLabelBinarizer` has them.
        task : str
            The ``task`` the labels are those of.
        lead_names : ndarray of shape (12,)
            ``I, II, III, AVR, AVL, AVF, V1, ..., V6``.
        sampling_rate : int
            100 or 500.
        fold : ndarray of shape (n_records,)
            The stratified fold (``strat_fold``) of each record.
        ecg_id, patient_id : ndarray of shape (n_records,)
            Record and patient identifiers.
        age : ndarray of shape (n_records,), dtype float64
            The patient's age in years, as stored in ``ptbxl_database.csv``:
            NaN where unknown, and the value is kept raw where PTB-XL codes an
            age above 89 as 300 (see Notes).
        sex : ndarray of shape (n_records,), dtype int64
            0 for male, 1 for female.
        frame : DataFrame of shape (n_records, 27)
            The rows of ``ptbxl_database.csv``, ``age`` and ``sex`` included,
            indexed by ``ecg_id``, with ``scp_codes`` parsed into dicts of SCP
            code to likelihood.
        DESCR : str
            Description of PTB-XL, with its source and licence.

    (data, target) : tuple if ``return_X_y`` is True

    See Also
    --------
    load_sample : A small sample of PTB-XL shipped with the package.

    Notes
    -----
    The labels are built as ``compute_label_aggregations`` and
    ``select_data`` of the benchmark's code build them
    (``code/utils/utils.py`` of github.com/helme/ecg_ptbxl_benchmarking). A
    record carries a label when any of its SCP codes, whatever its
    likelihood, is a statement of the task (``diagnostic``, ``form`` or
    ``rhythm`` equal to 1 in ``scp_statements.csv``; any code for
    ``"all"``) or, for the two aggregated tasks, a diagnostic statement of
    that ``diagnostic_subclass`` or ``diagnostic_class``. The columns are the
    task's labels that at least one row of ``ptbxl_database.csv`` carries,
    whatever ``folds``, so that every selection of folds gets the same
    columns: this is the benchmark's filter with the ``min_samples=0`` all its
    experiments use, which keeps the labels counted more than 0 times over
    the whole dataset. ``"superdiagnostic"`` always has its five columns.
    ``drop_unlabelled=True`` then gives the records the benchmark keeps.

    The first load parses every WFDB record of the folds and writes a
    memory-mappable cache (``ptbxl/.cache/``) that later loads read, as long
    as the metadata and record files are unchanged. Every task reads that
    same cache: the records are parsed once whatever the task. With
    ``drop_unlabelled=True``, the kept records are copied from it into a
    cache file of their own, memory-mapped too. Processes that load the
    same records for the first time at once, such as parallel search jobs or
    Dask workers, each parse them and all get the same data. A damaged cache
    file (truncated, or not an array of the records' shape) is reported on
    stderr and rebuilt.

    The PTB-XL description codes the age of patients above 89 as 300, as
    HIPAA requires. Such a value is returned as is rather than made missing,
    so that these patients can still be told apart; mask ``age >= 300``
    before using age as a number.

    PTB-XL: Wagner, Strodthoff, Bousseljot, Samek, Schaeffter (2020), PhysioNet,
    https://doi.org/10.13026/x4td-x982, CC BY 4.0.

    Examples
    --------
    The first call downloads PTB-XL (1.7 GB) and parses its records:

    >>> from cardionet_sk.datasets import fetch_ptbxl
    >>> rhythm = fetch_ptbxl(task="rhythm", folds=[9])  # doctest: +SKIP
    >>> rhythm.target_names.tolist()  # doctest: +SKIP
    ['AFIB', 'AFLT', 'BIGU', 'PACE', 'PSVT', 'SARRH', 'SBRAD', 'SR', 'STACH', \
'SVARR', 'SVTAC', 'TRIGU']
    >>> X, y = fetch_ptbxl(  # doctest: +SKIP
    ...     task="form", folds=[9], drop_unlabelled=True, return_X_y=True
    ... )
    >>> X.shape, y.shape  # doctest: +SKIP
    ((904, 1000, 12), (904, 19))
    """
    _check_task(task)
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
    # Before selecting folds: the columns are those of the whole dataset, so that the
    # training and the validation folds get the same ones.
    target, target_names = _task_target(database["scp_codes"], statements, task)
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
        in_folds = database["strat_fold"].isin(folds).to_numpy()
        database, target = database[in_folds], target[in_folds]
    keep = target.any(axis=1) if drop_unlabelled else np.ones(len(target), dtype=bool)
    data = _load_signals(
        root,
        database[_RECORD_COLUMN[sampling_rate]],
        _N_TIMESTEPS[sampling_rate],
        keep=keep,
        verbose=verbose,
    )
    return _ptbxl_bunch(
        data,
        target[keep],
        database[keep],
        sampling_rate=sampling_rate,
        descr=_load_descr("ptbxl.rst"),
        return_X_y=return_X_y,
        as_frame=as_frame,
        task=task,
        target_names=target_names,
    )


def _load_signals(root, filenames, n_timesteps, *, keep, verbose):
    """Signals of the records where ``keep`` is True, from the cache when it is up to date.

    The cache of all the records is built first and the subset copied from it,
    so that every task, whichever records it keeps, parses the records once.
    """
    paths = [root / f for f in filenames]
    shape = (len(paths), n_timesteps, len(LEADS))
    data = _cached(
        root, paths, functools.partial(_read_signals, paths, shape, verbose=verbose), shape
    )
    if keep.all():
        return data
    kept = [path for path, k in zip(paths, keep) if k]
    return _cached(root, kept, lambda: data[keep], (len(kept), *shape[1:]))


def _cached(root, paths, build, shape):
    """The cache file of the signals of ``paths``, built with ``build`` if needed."""
    return load_or_build(
        root / ".cache" / f"{_fingerprint(root, paths)}.npy", build, shape=shape, dtype=np.float32
    )


def _read_signals(paths, shape, *, verbose):
    """Parse the WFDB records into one float32 array of ``shape``."""
    data = np.empty(shape, dtype=np.float32)
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
    return data


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
