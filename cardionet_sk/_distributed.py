"""Scoring ECG records on a Dask cluster, with the model loaded once per worker process.

Two entry points: :func:`predict_proba_dask` for records already in a :mod:`dask.array`,
and :func:`score_records_dask` for WFDB record files, read where they are scored.

A model given by name, folder or Hub id is loaded by each worker process the first time
one of its tasks needs it and kept in that process (``_MODELS``): no task pickles the
network, and later tasks and later computations on the worker reuse it. A fitted
estimator is scattered once to every worker of the current :class:`distributed.Client`
and the tasks refer to that copy. Dask is imported only when these functions are called,
as it is an optional dependency.
"""

import numbers
import os
import threading
import uuid
from pathlib import Path

import numpy as np

from ._scoring import load_predictor, rows_frame, score, scoring_model

#: (process id, model id) -> the estimator loaded by that process. The process id keeps a
#: process forked from one holding a model from using TensorFlow state it cannot use.
_MODELS: dict[tuple[int, str], object] = {}
#: Held while loading, so that the threads of one worker load each model once.
_LOADING = threading.Lock()


def predict_proba_dask(model, X, *, sampling_rate=None, lead_names=None):
    """Class probabilities of records held in a Dask array, one task per block of records.

    Each block of records is scored with ``predict_proba`` on the worker that holds it,
    so the records never gather in one process. The model reaches the workers once: a
    model id is loaded by each worker process the first time it needs it and kept there
    for its later tasks, and a fitted estimator is scattered once to every worker
    (``client.scatter(model, broadcast=True)``) when a :class:`distributed.Client` is
    active.

    Parameters
    ----------
    model : str, path-like or fitted estimator
        What :func:`load_pretrained` opens, opened by each worker: an embedded
        model's name (:func:`list_pretrained`), ensembles included, a Hub repository
        id or a model folder, which every worker must be able to read (a shared file
        system). Or a fitted :class:`CardioNetClassifier`, a pipeline ending in one
        or a :class:`MultilabelVotingClassifier`. The client reads the config of a
        model id too, for its classes.
    X : dask.array.Array of shape (n_records, n_timesteps, n_leads) or \
            (n_records, n_windows, n_timesteps, n_leads)
        ECG records (or windows of them), as ``predict_proba`` takes them. Blocks
        should split the records only; a block that splits the samples or leads of a
        record is merged with its neighbours along those axes first (a rechunk, which
        moves data between workers), as the network takes whole records. Any other
        array-like is wrapped with :func:`dask.array.asarray`.
    sampling_rate : float, default=None
        Sampling rate of ``X`` in Hz, when it is not the model's: each block is
        resampled to the model's rate (see :meth:`CardioNetClassifier.predict_proba`).
    lead_names : sequence of str, default=None
        Names of the leads of ``X`` when they are not the model's leads in its order.

    Returns
    -------
    proba : dask.array.Array of shape (n_records, n_classes), dtype float64
        The lazy probabilities, chunked along the records as ``X``: call
        ``.compute()`` for a NumPy array, or store them with
        :func:`dask.array.to_zarr`. Equal to ``predict_proba`` on the whole of
        ``X`` in one process.

    Raises
    ------
    ValueError
        If ``X`` is neither 3-D nor 4-D.
    sklearn.exceptions.NotFittedError
        If ``model`` is an estimator that is not fitted.

    See Also
    --------
    score_records_dask : Score WFDB record files, read on the workers.

    Notes
    -----
    The records per block set the work of one task and the memory it needs: a block
    of 1,000 ten-second records at 100 Hz is 48 MB of ``float32`` signals. Each
    worker process holds one copy of the model; give workers one thread each, as
    TensorFlow spreads one prediction over several cores already.

    Examples
    --------
    Without a cluster, Dask runs the blocks in threads of this process:

    >>> import dask.array as da
    >>> from cardionet_sk import predict_proba_dask
    >>> from cardionet_sk.datasets import load_sample
    >>> X = da.from_array(load_sample().data, chunks=(16, -1, -1))
    >>> proba = predict_proba_dask("cardionet-ptbxl", X)
    >>> proba.shape, proba.chunks[0]
    ((52, 5), (16, 16, 16, 4))
    >>> proba.compute().shape
    (52, 5)

    On a cluster, the same call sends the blocks to its workers:

    >>> from distributed import Client
    >>> client = Client("tcp://scheduler-host:8786")  # doctest: +SKIP
    >>> proba = predict_proba_dask("cardionet-ptbxl", X).compute()  # doctest: +SKIP
    """
    da = _import_dask("predict_proba_dask").array
    n_classes = len(_classes(model))
    X = da.asarray(X)
    if X.ndim not in (3, 4):
        raise ValueError(
            "X must be 3-D records (n_records, n_timesteps, n_leads) or 4-D windows "
            f"(n_records, n_windows, n_timesteps, n_leads); got shape {X.shape}."
        )
    inner = tuple(range(1, X.ndim))
    if any(len(X.chunks[axis]) > 1 for axis in inner):
        # The network reads a record's samples and leads together: a task needs them all.
        X = X.rechunk({axis: -1 for axis in inner})
    return X.map_blocks(
        _predict_block,
        _for_workers(model),
        {"sampling_rate": sampling_rate, "lead_names": lead_names},
        drop_axis=inner,
        new_axis=1,
        chunks=(X.chunks[0], (n_classes,)),
        dtype=np.float64,
        meta=np.empty((0, 0), dtype=np.float64),
        name=_task_name("predict_proba"),
    )


def score_records_dask(model, records, *, npartitions=None, batch_size=256):
    """Score WFDB record files on a Dask cluster, as ``cardionet predict`` does in one process.

    Each partition of record paths is read with :func:`~cardionet_sk.datasets.read_record`
    and classified on a worker, ``batch_size`` records at a time, so the signals never
    travel: only the paths go out and only the scores come back. A record that cannot be
    read or classified (a missing or corrupt file, a missing lead, a record shorter than
    the model's minimum) becomes a row with an ``error`` instead of failing the
    computation; records at other rates are resampled to the model's, their leads
    matched by name, as ``cardionet predict`` does. The model
    reaches the workers once, as in :func:`predict_proba_dask`.

    Parameters
    ----------
    model : str, path-like or fitted estimator
        A model id (embedded name, Hub repository id, or a folder every worker can
        read), ensembles included, loaded once by each worker process; or a model
        opened with :func:`load_pretrained`, whose saved config tells the sampling
        rate and leads it takes.
    records : sequence of str or path-like, or dask.bag.Bag of str
        WFDB record paths (with or without ``.hea``) as the workers see them.
    npartitions : int, default=None
        Tasks to split ``records`` into, of about equal numbers of records: at least
        the number of worker threads, to keep them all busy. ``None`` keeps the
        partitions of a bag, and splits a sequence into 100 (fewer for fewer than
        100 records).
    batch_size : int, default=256
        Records read and classified at a time within a partition; a worker's memory
        grows with it, not with the size of the partition.

    Returns
    -------
    scores : dask.dataframe.DataFrame
        One row per record, in the order of ``records``, with the columns of
        ``cardionet predict --format parquet``: ``record`` (the path as given), one
        column of probabilities per class, ``predicted`` (the predicted class names,
        space-separated, ``"-"`` for none), ``error`` (why a record was skipped; its
        probabilities are then NaN) and ``warning`` (the findings of the signal
        checks, ``""`` if none). Its index is the position of the record in
        ``records`` (with known divisions); for a bag, the position within its
        partition.

    Raises
    ------
    ValueError
        If ``model`` is an estimator without a saved config (``pretrained_config_``),
        or ``npartitions`` or ``batch_size`` is not a positive integer.

    See Also
    --------
    predict_proba_dask : Score records already in a Dask array.

    Examples
    --------
    Without a cluster, Dask scores the partitions in threads of this process; a
    record that cannot be read is reported, not raised:

    >>> from cardionet_sk import score_records_dask
    >>> scores = score_records_dask("cardionet-ptbxl", ["no/such/record"])
    >>> scores.columns.tolist()
    ['record', 'NORM', 'MI', 'STTC', 'CD', 'HYP', 'predicted', 'error', 'warning']
    >>> scores.compute().loc[0, "error"]
    'WFDB header not found: no/such/record.hea'

    On a cluster, the paths must name files the workers can read:

    >>> from distributed import Client
    >>> client = Client("tcp://scheduler-host:8786")  # doctest: +SKIP
    >>> paths = [f"/shared/archive/{i:05d}_lr" for i in range(100_000)]
    >>> scores = score_records_dask("cardionet-ptbxl", paths, npartitions=64)  # doctest: +SKIP
    >>> scores.to_parquet("/shared/scores/")  # doctest: +SKIP
    """
    dask = _import_dask("score_records_dask")
    import dask.bag as db
    import dask.dataframe as dd

    for name, value in {"batch_size": batch_size, "npartitions": npartitions}.items():
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1
        ):
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    classes = [str(c) for c in _classes(model, need_config=True)]
    if isinstance(records, db.Bag):
        bag = records if npartitions is None else records.repartition(npartitions)
        parts = bag.to_delayed()
        # A bag's partition lengths are unknown until computed: rows are numbered from 0.
        starts, divisions = [0] * len(parts), None
    else:
        paths = [os.fspath(path) for path in records]
        n_parts = min(npartitions or 100, len(paths)) or 1  # no empty partition
        starts = [i * len(paths) // n_parts for i in range(n_parts)]
        parts = [paths[start:end] for start, end in zip(starts, [*starts[1:], len(paths)])]
        divisions = (*starts, len(paths) - 1) if paths else None
    score_partition, reference = dask.delayed(_score_partition), _for_workers(model)
    name = _task_name("score_records")
    frames = [
        score_partition(part, reference, classes, batch_size, start, dask_key_name=(name, i))
        for i, (part, start) in enumerate(zip(parts, starts))
    ]
    return dd.from_delayed(frames, meta=rows_frame([], classes), divisions=divisions)


# -- on the client ------------------------------------------------------------------------


def _import_dask(caller):
    """The ``dask`` package, or an ImportError saying how to install it."""
    try:
        import dask
        import dask.array  # noqa: F401  (the submodules load their own dependencies)
        import dask.dataframe  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller} needs Dask: pip install 'dask[distributed]' (or 'dask[dataframe]' "
            "without a cluster)."
        ) from exc
    return dask


def _task_name(prefix):
    """A unique name for the tasks, ``prefix`` on the dashboard.

    Dask would otherwise name them by a hash of their arguments, and hashing an estimator
    pickles and unpickles its network (about half a second for the embedded CNN), for a
    hash that differs from one call to the next anyway.
    """
    return f"{prefix}-{uuid.uuid4().hex}"


def _classes(model, need_config=False):
    """The classes of ``model``, read on the client; for an id, from its config alone."""
    if isinstance(model, (str, os.PathLike)):
        from . import hub
        from ._pretrained import _SAVEABLE_ARCHITECTURES

        directory = hub.resolve_model_dir(model)
        return list(hub.folder_config(directory, architectures=_SAVEABLE_ARCHITECTURES).classes)
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

    estimator = model[-1] if isinstance(model, Pipeline) else model
    check_is_fitted(estimator)
    if need_config and getattr(estimator, "pretrained_config_", None) is None:
        raise ValueError(
            "score_records_dask checks each record's sampling rate and leads against those "
            "the model was saved with, and this estimator has no saved config: pass its "
            "name or folder, or the estimator opened with load_pretrained "
            "(save it with save_pretrained first)."
        )
    return estimator.classes_


def _for_workers(model):
    """What the tasks receive: a model id they load, or the estimator scattered once."""
    if isinstance(model, (str, os.PathLike)):
        from .hub import list_pretrained

        name = os.fspath(model)
        path = Path(name).expanduser()
        if name not in list_pretrained() and path.is_dir():
            name = str(path.resolve())  # the workers need not share our working directory
        return name
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):  # no cluster: the local schedulers share our memory
        return model
    # One copy per worker, kept in its memory: a task refers to it instead of carrying
    # the pickled network. The future lives as long as the graph that holds it. Not
    # hashed, for the reason given in _task_name.
    return client.scatter(model, broadcast=True, hash=False)


# -- on the workers -----------------------------------------------------------------------


def _as_predictor(model):
    """The fitted estimator: from this process's cache for an id, else ``model`` itself."""
    if isinstance(model, str):
        key = (os.getpid(), model)
        with _LOADING:
            if key not in _MODELS:
                _MODELS[key] = load_predictor(model)
            return _MODELS[key]
    return model


def _predict_block(block, model, contract):
    # float64 whatever the model: the dtype of the Dask array is declared before any
    # block is scored, and only a calibrated model gives float64 itself.
    contract = {name: value for name, value in contract.items() if value is not None}
    return np.asarray(_as_predictor(model).predict_proba(block, **contract), dtype=np.float64)


def _score_partition(paths, model, classes, batch_size, start):
    # Each record's signal is checked once, for its row's warning, not again by the model.
    model = scoring_model(_as_predictor(model))
    batches = score(model, paths, batch_size=batch_size, strict=False)
    return rows_frame([row for rows in batches for row in rows], classes, start)
