"""A hyper-parameter search over CardioNetClassifier on a Dask cluster of worker processes.

The cluster is a real :class:`distributed.LocalCluster` of two spawned worker processes, each of
which imports TensorFlow when its first fit arrives; joblib's ``"dask"`` backend sends them the
fits of :class:`~sklearn.model_selection.GridSearchCV`.
"""

import os
import re
import sys

import joblib
import numpy as np
import pytest
from _helpers import optional_import
from sklearn.model_selection import GridSearchCV, KFold

optional_import("distributed", "dask")
from distributed import get_task_stream  # noqa: E402

from cardionet_sk import CardioNetClassifier  # noqa: E402
from cardionet_sk.datasets import load_sample  # noqa: E402

GRID = {"learning_rate": [1e-3, 1e-2]}
N_SPLITS = 2


def make_search():
    tiny = CardioNetClassifier(
        model__filters=(2,),
        model__kernel_sizes=(3,),
        model__dense_units=4,
        epochs=1,
        validation_split=0,
        random_state=0,
    )
    return GridSearchCV(tiny, GRID, cv=KFold(N_SPLITS), scoring="roc_auc", refit=False)


@pytest.fixture(scope="module")
def sample():
    return load_sample(return_X_y=True)


@pytest.fixture(scope="module")
def dask_search(client, sample):
    """The search fitted through joblib's dask backend, and the tasks the scheduler ran."""
    with joblib.parallel_backend("dask"), get_task_stream(client) as stream:
        search = make_search().fit(*sample)
    return search, stream.data


def _worker_state():
    return os.getpid(), "cardionet_sk._classifier" in sys.modules


def test_every_fit_runs_on_a_worker(client, dask_search):
    search, tasks = dask_search
    n_fits = len(search.cv_results_["params"]) * N_SPLITS
    # joblib names each task after the batch of calls it runs.
    batches = [re.fullmatch(r"batch_of__fit_and_score_(\d+)_calls-\w+", t["key"]) for t in tasks]
    assert all(batches), [t["key"] for t in tasks]
    assert sum(int(batch.group(1)) for batch in batches) == n_fits
    workers = set(client.scheduler_info()["workers"])
    assert {t["worker"] for t in tasks} == workers  # both workers trained models
    state = client.run(_worker_state)
    assert set(state) == workers
    assert os.getpid() not in {pid for pid, _ in state.values()}
    assert all(imported for _, imported in state.values())


def test_scores_equal_those_of_a_sequential_search(dask_search, sample):
    search, _ = dask_search
    sequential = make_search().fit(*sample)
    assert search.cv_results_["params"] == sequential.cv_results_["params"]
    for key in [f"split{i}_test_score" for i in range(N_SPLITS)]:
        np.testing.assert_allclose(search.cv_results_[key], sequential.cv_results_[key], rtol=1e-6)
    assert search.best_params_ == sequential.best_params_


def test_search_results_are_complete(dask_search):
    search, _ = dask_search
    assert search.cv_results_["params"] == [{"learning_rate": lr} for lr in GRID["learning_rate"]]
    scores = np.column_stack([search.cv_results_[f"split{i}_test_score"] for i in range(N_SPLITS)])
    assert np.isfinite(scores).all() and ((0 <= scores) & (scores <= 1)).all()
    assert search.best_params_ in search.cv_results_["params"]
