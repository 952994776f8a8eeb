"""Scoring records on a Dask cluster of two worker processes (predict_proba_dask and
score_records_dask).

The cluster is the :class:`distributed.LocalCluster` fixture of ``conftest.py``. What the
workers did is read back from them with ``client.run``: the models their processes loaded
(counted by wrapping ``load_predictor`` in each of them) and how often they unpickled a
scattered classifier.
"""

import functools
import os

import numpy as np
import pytest
from _helpers import optional_import

optional_import("distributed", "dask")
import dask.array as da  # noqa: E402
import dask.bag as db  # noqa: E402
from _helpers import write_record  # noqa: E402
from dask.utils import key_split  # noqa: E402
from distributed import get_task_stream  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

from cardionet_sk import (  # noqa: E402
    CardioNetClassifier,
    load_pretrained,
    predict_proba_dask,
    score_records_dask,
)
from cardionet_sk.datasets import load_sample, read_record  # noqa: E402

MODEL = "cardionet-ptbxl"
#: A float32 network run by another process (one thread, its own compilation) may differ
#: in the last bits, which a steep calibration map magnifies to a few 1e-6.
RTOL = 1e-5

#: In each worker process: the ids of the models it loaded since ``_start_counting``.
LOADS: list[str] = []
#: In each worker process: how many times it unpickled an ``UnpicklingCounted`` classifier.
UNPICKLED: list[int] = []


class UnpicklingCounted(CardioNetClassifier):
    """A classifier that counts, in the process that receives it, each time it is unpickled."""

    def __setstate__(self, state):
        UNPICKLED.append(os.getpid())
        super().__setstate__(state)


def _start_counting():
    """On a worker: forget the models loaded so far, count the loads and unpickles from now."""
    from cardionet_sk import _distributed

    _distributed._MODELS.clear()
    LOADS.clear()
    UNPICKLED.clear()
    load = getattr(_distributed.load_predictor, "__wrapped__", _distributed.load_predictor)

    @functools.wraps(load)
    def counted(name):
        LOADS.append(name)
        return load(name)

    _distributed.load_predictor = counted


def _counts():
    return len(LOADS), len(UNPICKLED)


@pytest.fixture
def counts(client):
    """Per worker, ``(models loaded, classifiers unpickled)`` since the test started."""
    client.run(_start_counting)
    return lambda: client.run(_counts)


@pytest.fixture(scope="module")
def X():
    return load_sample().data


@pytest.fixture(scope="module")
def local_model():
    return CardioNetClassifier.from_pretrained(MODEL)


def _workers_that_ran(tasks, name):
    return {task["worker"] for task in tasks if key_split(task["key"]) == name}


def test_predict_proba_dask_equals_predict_proba_loading_once_per_worker(
    client,
    counts,
    X,
    local_model,
):
    proba = predict_proba_dask(MODEL, da.from_array(X, chunks=(6, -1, -1)))
    assert isinstance(proba, da.Array)
    assert proba.shape == (len(X), 5) and proba.dtype == np.float64
    assert proba.chunks == ((6,) * 8 + (4,), (5,))
    with get_task_stream(client) as stream:
        first = proba.compute()
    second = proba.compute()  # the workers keep their model between computations

    expected = local_model.predict_proba(X)
    np.testing.assert_allclose(first, expected, rtol=RTOL)
    np.testing.assert_allclose(second, expected, rtol=RTOL)
    workers = _workers_that_ran(stream.data, "predict_proba")
    assert workers == set(client.scheduler_info()["workers"])  # both workers scored blocks
    # Nine blocks scored twice by two workers, each of which loaded the model once.
    assert counts() == {worker: (1, 0) for worker in workers}


def test_a_fitted_classifier_is_scattered_once_to_every_worker(client, counts, X):
    clf = UnpicklingCounted.from_pretrained(MODEL)
    # Blocks that split the records' samples and leads are merged along those axes.
    X_blocks = da.from_array(X, chunks=(10, 250, 6))
    proba = predict_proba_dask(clf, X_blocks)
    assert proba.chunks == ((10,) * 5 + (2,), (5,))
    with get_task_stream(client) as stream:
        result = proba.compute()

    np.testing.assert_allclose(result, clf.predict_proba(X), rtol=RTOL)
    workers = set(client.scheduler_info()["workers"])
    # Every worker received the one scattered copy, unpickled it once, and loaded no model.
    assert counts() == {worker: (0, 1) for worker in workers}
    # The copy is still held while the graph lives. Only "somewhere": distributed's active
    # memory manager drops surplus replicas a few seconds after the tasks that needed them.
    held = client.has_what()
    assert any(key_split(key) == "UnpicklingCounted" for keys in held.values() for key in keys)
    assert _workers_that_ran(stream.data, "predict_proba") <= workers


def _write_archive(folder, X):
    """Five sample records, and a sixth whose signal file is truncated; their paths."""
    paths = [str(write_record(folder, f"rec{i}", X[i])).removesuffix(".hea") for i in range(5)]
    corrupt = write_record(folder, "corrupt", X[5]).with_suffix(".dat")
    corrupt.write_bytes(corrupt.read_bytes()[:1000])
    return paths[:2] + [str(corrupt.with_suffix(""))] + paths[2:]


def test_score_records_dask_scores_files_on_the_workers(
    client,
    counts,
    tmp_path,
    X,
    local_model,
):
    paths = _write_archive(tmp_path, X)
    scores = score_records_dask(MODEL, paths, npartitions=4, batch_size=1)
    classes = list(local_model.classes_)
    assert scores.columns.tolist() == ["record", *classes, "predicted", "error", "warning"]
    assert scores.npartitions == 4 and scores.divisions == (0, 1, 3, 4, 5)
    with get_task_stream(client) as stream:
        df = scores.compute()
    workers = _workers_that_ran(stream.data, "score_records")
    assert counts() == {
        worker: (int(worker in workers), 0) for worker in client.scheduler_info()["workers"]
    }

    assert df["record"].tolist() == paths and df.index.tolist() == list(range(len(paths)))
    bad = df["record"] == paths[2]
    assert df.loc[bad, "error"].str.contains("probably truncated or corrupt").all()
    assert df.loc[bad, classes].isna().all(axis=None)
    assert df.loc[bad, "predicted"].isna().all()
    good = df[~bad]
    assert good["error"].isna().all() and good["warning"].notna().all()
    signals = np.stack([read_record(path).signal for path in good["record"]])
    np.testing.assert_allclose(good[classes], local_model.predict_proba(signals), rtol=RTOL)
    labels = local_model.predict(signals)
    expected = [" ".join(np.asarray(classes)[row.astype(bool)]) or "-" for row in labels]
    assert good["predicted"].tolist() == expected

    # A bag of paths gives the same rows, numbered within each of its partitions.
    from_bag = score_records_dask(MODEL, db.from_sequence(paths, npartitions=2)).compute()
    assert from_bag.index.tolist() == [0, 1, 2, 0, 1, 2]
    from_bag = from_bag.reset_index(drop=True)
    np.testing.assert_allclose(from_bag[classes], df[classes], rtol=RTOL)
    assert from_bag["error"].equals(df["error"])


def test_arguments_are_checked_before_any_task_runs(X):
    with pytest.raises(ValueError, match=r"must be 3-D records .* got shape \(52, 1000\)"):
        predict_proba_dask(MODEL, da.from_array(X[:, :, 0]))
    with pytest.raises(NotFittedError):
        predict_proba_dask(CardioNetClassifier(), da.from_array(X))
    with pytest.raises(ValueError, match="batch_size must be a positive integer; got 0"):
        score_records_dask(MODEL, ["a"], batch_size=0)
    with pytest.raises(ValueError, match="npartitions must be a positive integer; got 1.5"):
        score_records_dask(MODEL, ["a"], npartitions=1.5)
    fitted = CardioNetClassifier(
        model__filters=(2,),
        model__kernel_sizes=(3,),
        model__dense_units=4,
        epochs=1,
        validation_split=0,
    ).fit(X[:8], load_sample().target[:8])
    with pytest.raises(ValueError, match="this estimator has no saved config"):
        score_records_dask(fitted, ["a"])


ENSEMBLE = "ensemble-ptbxl"


def test_an_embedded_ensemble_scores_on_the_cluster_as_in_one_process(
    client,
    tmp_path,
    X,
):
    from scipy.signal import resample_poly

    ensemble = load_pretrained(ENSEMBLE)
    proba = predict_proba_dask(ENSEMBLE, da.from_array(X[:8], chunks=(4, -1, -1))).compute()
    np.testing.assert_allclose(proba, ensemble.predict_proba(X[:8]), rtol=RTOL)
    # Records at 500 Hz, stated once, are resampled by each member on the workers.
    at_500 = resample_poly(X[:4].astype(np.float64), 5, 1, axis=1)
    proba = predict_proba_dask(ENSEMBLE, da.from_array(at_500), sampling_rate=500).compute()
    np.testing.assert_allclose(proba, ensemble.predict_proba(at_500, sampling_rate=500), rtol=RTOL)

    paths = [str(write_record(tmp_path, f"r{i}", at_500[i], fs=500)) for i in range(4)]
    df = score_records_dask(ENSEMBLE, paths, npartitions=2).compute()
    classes = list(ensemble.classes_)
    assert df["error"].isna().all()
    signals = np.stack([read_record(path).signal for path in paths])
    np.testing.assert_allclose(
        df[classes], ensemble.predict_proba(signals, sampling_rate=500), rtol=RTOL
    )
