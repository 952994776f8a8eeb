"""Fixtures shared by the test modules that read real PTB-XL records from ../shared."""

import subprocess
import sys

import pytest
from _helpers import SHARED_PTBXL, THRESHOLDS


@pytest.fixture(scope="session")
def fold9_home(tmp_path_factory):
    """A data home whose ptbxl/ folder holds fold 9 in the official layout."""
    if not (SHARED_PTBXL / "unpack.py").is_file():
        pytest.skip(f"real PTB-XL records are read from {SHARED_PTBXL}, which is absent")
    home = tmp_path_factory.mktemp("data_home")
    subprocess.run(
        [sys.executable, str(SHARED_PTBXL / "unpack.py"), str(home / "ptbxl"), "--folds", "9"],
        check=True,
        capture_output=True,
    )
    return home


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny CardioNet trained for one epoch on the bundled sample, saved as a model folder."""
    from cardionet_sk import CardioNetClassifier
    from cardionet_sk.datasets import load_sample

    sample = load_sample()
    clf = CardioNetClassifier(
        model__filters=(2, 2, 2),
        model__kernel_sizes=(3, 3, 3),
        model__dense_units=4,
        epochs=1,
        validation_split=0,
        threshold=THRESHOLDS,
        class_names=sample.target_names,
        random_state=0,
    ).fit(sample.data[:16], sample.target[:16])
    return clf.save_pretrained(
        tmp_path_factory.mktemp("cli") / "tiny",
        name="tiny test model",
        description="A CardioNet small enough for tests.",
        metrics={"dataset": "PTB-XL fold 9", "macro_auc": 0.5, "macro_f1": 0.25},
    )


@pytest.fixture(scope="module")
def client():
    """A Dask cluster of two worker processes, one thread each, and its client."""
    import logging

    from _helpers import optional_import

    distributed = optional_import("distributed", "dask")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
