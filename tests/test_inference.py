"""Prediction compiles the network once, whatever the number of records per call."""

import numpy as np
import pytest

from cardionet_sk import CardioNetClassifier
from cardionet_sk._keras.inference import tracing_count

TINY = {"filters": (4,), "kernel_sizes": (3,), "dense_units": 8, "epochs": 1, "random_state": 0}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 64, 12)).astype(np.float32)
    y = (X[:, :, :3].mean(axis=1) > 0).astype(int)
    y[:2], y[2:4] = 1, 0
    return X, y


def test_predict_proba_of_varying_batch_sizes_compiles_once(data):
    X, y = data
    clf = CardioNetClassifier(**TINY).fit(X, y)
    first = clf.predict_proba(X)
    for n in (1, 3, 7, 30, 2):
        np.testing.assert_allclose(clf.predict_proba(X[:n]), first[:n], rtol=1e-5)
    clf.set_params(predict__batch_size=4)  # partial last batches as well
    np.testing.assert_allclose(clf.predict_proba(X), first, rtol=1e-5)
    assert tracing_count(clf.model_) == 1


def test_fully_convolutional_network_compiles_once_for_any_record_length(data):
    X, y = data
    resnet = {"filters": (4,), "dense_units": 4, "epochs": 1, "random_state": 0}
    clf = CardioNetClassifier("resnet1d_wang", **resnet).fit(X, y)
    for length in (64, 40, 100):
        clf.predict_proba(np.resize(X, (5, length, 12)))
    assert tracing_count(clf.model_) == 1


def test_unknown_routed_predict_parameter_is_rejected(data):
    X, y = data
    clf = CardioNetClassifier(**TINY, predict__workers=4).fit(X, y)
    with pytest.raises(ValueError, match=r"Unknown predict__ parameters \['workers'\]"):
        clf.predict_proba(X)
