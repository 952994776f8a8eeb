"""Prediction compiles the network once, whatever the number of records per call."""

import gc
import logging

import numpy as np
import pytest
from _helpers import TINY
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline

from cardionet_sk import CardioNetClassifier, PTBXLWindower
from cardionet_sk._keras.inference import _FUNCTIONS, tracing_count
from cardionet_sk.datasets import load_sample


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
    resnet = {"model__filters": (4,), "model__dense_units": 4, "epochs": 1, "random_state": 0}
    # Trained on 32-timestep crops: it takes any record of 32 timesteps or more.
    clf = CardioNetClassifier("resnet1d_wang", **resnet, crop_size=32, crop_inference="whole").fit(
        X, y
    )
    for length in (64, 40, 100):
        clf.predict_proba(np.resize(X, (5, length, 12)))
    assert tracing_count(clf.model_) == 1


def test_unknown_routed_predict_parameter_is_rejected(data):
    X, y = data
    clf = CardioNetClassifier(**TINY, predict__workers=4).fit(X, y)
    with pytest.raises(ValueError, match=r"Unknown predict__ parameters \['workers'\]"):
        clf.predict_proba(X)


def test_grid_search_over_a_windowed_pipeline_compiles_each_network_once(caplog):
    sample = load_sample()
    pipeline = make_pipeline(
        PTBXLWindower(window_size=250, stride=250),
        CardioNetClassifier(**TINY, validation_split=0),
    )
    search = GridSearchCV(
        pipeline, {"cardionetclassifier__learning_rate": [1e-3, 1e-2]}, cv=GroupKFold(3)
    )
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        search.fit(sample.data, sample.target, groups=sample.patient_id)
    # Seven networks (six folds and the refit), each traced once: nothing TensorFlow would
    # count as retracing.
    search.predict_proba(sample.data)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
    assert tracing_count(search.best_estimator_[-1].model_) == 1


def test_prediction_functions_go_with_their_networks(data):
    X, y = data
    gc.collect()
    before = len(_FUNCTIONS)
    for seed in range(3):
        CardioNetClassifier(**{**TINY, "random_state": seed}).fit(X, y).predict_proba(X)
    gc.collect()
    assert len(_FUNCTIONS) == before
