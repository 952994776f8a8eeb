"""Tests of CalibratedMultilabelClassifierCV and of calibration maps as plain numbers."""

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_multilabel_classification
from sklearn.frozen import FrozenEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.multioutput import MultiOutputClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils import get_tags

from cardionet_sk import CalibratedMultilabelClassifierCV, ThresholdOptimizer, apply_calibration
from cardionet_sk._calibration_maps import Calibrator, _IsotonicCalibrator
from cardionet_sk._response import positive_proba

METHODS = ["sigmoid", "isotonic", "temperature"]


def _data(n_samples=600, n_classes=3, random_state=0):
    return make_multilabel_classification(
        n_samples=n_samples, n_classes=n_classes, n_features=10, random_state=random_state
    )


def _logistic():
    return MultiOutputClassifier(LogisticRegression(max_iter=1000))


class Overconfident(ClassifierMixin, BaseEstimator):
    """Logistic regressions whose logits are multiplied by ``power``: overconfident."""

    def __init__(self, power=4.0):
        self.power = power

    def fit(self, X, y):
        self.model_ = _logistic().fit(X, y)
        self.classes_ = np.arange(y.shape[1])
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X):
        proba = positive_proba(self.model_, X, len(self.classes_))
        return expit(self.power * logit(np.clip(proba, 1e-12, 1 - 1e-12)))


def _brier(y, proba):
    return np.mean((proba - y) ** 2)


@pytest.mark.parametrize("method", METHODS)
def test_calibration_lowers_brier_score_of_overconfident_estimator(method):
    X, y = _data(n_samples=1000)
    train, test = slice(0, 600), slice(600, None)
    raw = Overconfident().fit(X[train], y[train]).predict_proba(X[test])

    clf = CalibratedMultilabelClassifierCV(Overconfident(), method=method, cv=3)
    calibrated = clf.fit(X[train], y[train]).predict_proba(X[test])

    assert calibrated.shape == raw.shape
    assert _brier(y[test], calibrated) < 0.9 * _brier(y[test], raw)


def test_temperature_softens_overconfident_probabilities_and_keeps_auc_exactly():
    X, y = _data(n_samples=800)
    fitted = Overconfident().fit(X[:400], y[:400])
    clf = CalibratedMultilabelClassifierCV(FrozenEstimator(fitted), method="temperature")
    clf.fit(X[400:600], y[400:600])

    assert all(m["t"] > 2 for m in clf.calibration_maps_)
    raw, calibrated = fitted.predict_proba(X[600:]), clf.predict_proba(X[600:])
    for k in range(y.shape[1]):
        auc = roc_auc_score(y[600:, k], raw[:, k])
        assert roc_auc_score(y[600:, k], calibrated[:, k]) == auc
        assert np.array_equal(np.argsort(raw[:, k]), np.argsort(calibrated[:, k]))


def test_frozen_estimator_is_not_refitted_and_calibrates_on_all_data():
    X, y = _data()
    fitted = _logistic().fit(X[:300], y[:300])
    coefs = [e.coef_.copy() for e in fitted.estimators_]
    frozen = FrozenEstimator(fitted)

    # cv is ignored: there is nothing to fit, so no data is held out.
    clf = CalibratedMultilabelClassifierCV(frozen, method="isotonic", cv=3).fit(X[300:], y[300:])

    assert len(clf.calibrated_classifiers_) == 1
    assert clf.calibrated_classifiers_[0].estimator is frozen
    assert all(e is f for e, f in zip(fitted.estimators_, frozen.estimator.estimators_))
    assert all(np.array_equal(e.coef_, c) for e, c in zip(fitted.estimators_, coefs))
    proba = positive_proba(fitted, X[300:], 3)
    for k, mapping in enumerate(clf.calibration_maps_):
        assert mapping == _IsotonicCalibrator.fit(proba[:, k], y[300:, k]).to_dict()


def test_frozen_estimator_must_be_fitted():
    X, y = _data(n_samples=50)
    with pytest.raises(ValueError, match="not fitted"):
        CalibratedMultilabelClassifierCV(FrozenEstimator(_logistic())).fit(X, y)


class RecordingGroupKFold(GroupKFold):
    """GroupKFold that records the groups it is given."""

    def split(self, X, y=None, groups=None):
        self.seen_groups_ = groups
        return super().split(X, y, groups)


@pytest.mark.parametrize("ensemble", [True, False])
def test_groups_reach_the_splitter(ensemble):
    X, y = _data(n_samples=120)
    groups = np.repeat(np.arange(30), 4)  # four records per patient
    splitter = RecordingGroupKFold(n_splits=3)

    with config_context(enable_metadata_routing=True):
        clf = CalibratedMultilabelClassifierCV(_logistic(), cv=splitter, ensemble=ensemble)
        clf.fit(X, y, groups=groups)

    assert np.array_equal(splitter.seen_groups_, groups)
    assert len(clf.calibrated_classifiers_) == (3 if ensemble else 1)
    for train, test in splitter.split(X, y, groups):
        assert not set(groups[train]) & set(groups[test])


def test_groups_without_metadata_routing_raise():
    X, y = _data(n_samples=60)
    with pytest.raises(ValueError, match="groups"):
        CalibratedMultilabelClassifierCV(_logistic(), cv=GroupKFold(3)).fit(
            X, y, groups=np.arange(60) // 2
        )


@pytest.mark.parametrize("method", METHODS)
def test_maps_round_trip_exactly_through_json(method):
    X, y = _data()
    clf = CalibratedMultilabelClassifierCV(_logistic(), method=method, cv=3, ensemble=False)
    clf.fit(X, y)

    maps = json.loads(json.dumps(clf.calibration_maps_))

    assert maps == clf.calibration_maps_
    assert [Calibrator.from_dict(m).to_dict() for m in maps] == maps
    assert all(m["method"] == method for m in maps)
    estimator = clf.calibrated_classifiers_[0].estimator
    proba = positive_proba(estimator, X, 3)
    assert np.array_equal(apply_calibration(proba, maps), clf.predict_proba(X))


def test_isotonic_map_passes_through_the_centres_of_the_isotonic_blocks():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=300)
    y = (rng.uniform(size=300) < p**2).astype(int)
    iso = IsotonicRegression(y_min=0, y_max=1).fit(p, y)
    mapping = _IsotonicCalibrator.fit(p, y)
    blocks = [p[iso.predict(p) == value] for value in np.unique(iso.predict(p))]
    centres = np.array([block.mean() for block in blocks])
    # Each block's value at the mean probability of its records, the ends kept.
    np.testing.assert_allclose(mapping.predict(centres), np.unique(iso.predict(p)), atol=1e-12)
    assert mapping.x[0] == p.min() and mapping.x[-1] == p.max()
    # Strictly rising from the first centre to the last: no ties between them.
    inner = np.sort(p[(p > centres[0]) & (p < centres[-1])])
    assert np.all(np.diff(mapping.predict(inner)) > 0)
    # Flat beyond the data.
    assert mapping.predict(np.array([-0.5, 1.5])).tolist() == [mapping.y[0], mapping.y[-1]]


def test_isotonic_map_has_no_steps_between_neighbouring_probabilities():
    # Two blocks whose edge records are 1e-7 apart: scikit-learn's breakpoints climb from
    # one to the other in that gap; the centred map spreads the rise between the centres.
    p = np.r_[np.linspace(0.1, 0.5, 50), 0.5 + 1e-7, np.linspace(0.6, 0.9, 50)]
    y = np.r_[np.zeros(40), np.ones(10), np.ones(51)].astype(int)
    y[:50:5] = 1
    mapping = _IsotonicCalibrator.fit(p, y)
    slopes = np.diff(mapping.y) / np.diff(mapping.x)
    assert slopes.max() < 10


@pytest.mark.parametrize(
    "mapping, match",
    [
        ({"method": "beta", "a": 1.0}, "'method' is one of"),
        ("sigmoid", "'method' is one of"),
        ({"method": "sigmoid", "a": 1.0}, "has the keys"),
        ({"method": "temperature", "t": 1.0, "b": 0.0}, "has the keys"),
        ({"method": "sigmoid", "a": "1", "b": 0.0}, "'a' as a finite number"),
        ({"method": "sigmoid", "a": [1.0], "b": 0.0}, "'a' as a finite number"),
        ({"method": "temperature", "t": float("nan")}, "'t' as a finite number"),
        ({"method": "temperature", "t": True}, "'t' as a finite number"),
        ({"method": "temperature", "t": 0.0}, "'t' > 0"),
        ({"method": "isotonic", "x": [0.1, 0.5], "y": [0.2]}, "same non-zero length"),
        ({"method": "isotonic", "x": [], "y": []}, "same non-zero length"),
        ({"method": "isotonic", "x": [0.5, 0.1], "y": [0.1, 0.2]}, "non-decreasing"),
        ({"method": "isotonic", "x": [0.1, 0.5], "y": [0.2, 1.5]}, r"in \[0, 1\]"),
        ({"method": "isotonic", "x": 0.5, "y": 0.5}, "list of finite numbers"),
    ],
)
def test_invalid_calibration_maps_raise(mapping, match):
    with pytest.raises(ValueError, match=match):
        apply_calibration(np.full((2, 1), 0.5), [mapping])


@pytest.mark.parametrize(
    "proba, match",
    [(np.full((2, 3), 0.5), r"shape \(n_samples, 2\)"), (np.array([[0.5, 1.5]]), r"\[0, 1\]")],
)
def test_apply_calibration_rejects_wrong_probabilities(proba, match):
    maps = [{"method": "temperature", "t": 1.0}] * 2
    with pytest.raises(ValueError, match=match):
        apply_calibration(proba, maps)


def test_apply_calibration_with_unit_temperature_is_the_identity():
    proba = np.array([[0.0, 0.2], [1.0, 0.7]])
    maps = [{"method": "temperature", "t": 1.0}] * 2
    np.testing.assert_allclose(apply_calibration(proba, maps), proba, atol=1e-15)


def test_class_with_one_label_value_in_the_calibration_data_raises():
    X, y = _data(n_samples=100)
    frozen = FrozenEstimator(_logistic().fit(X, y))
    y[:, 1] = 0
    with pytest.raises(ValueError, match="Class 1 has only negative samples in the data"):
        CalibratedMultilabelClassifierCV(frozen).fit(X, y)

    # KNeighborsClassifier accepts a constant label; the calibration cannot.
    y[:, 1] = 1
    with pytest.raises(ValueError, match="only positive samples in the out-of-fold"):
        CalibratedMultilabelClassifierCV(KNeighborsClassifier(), cv=3, ensemble=False).fit(X, y)

    # Every sample of the first test part is a positive of class 1.
    y[:, 1] = np.arange(100) < 20
    with pytest.raises(ValueError, match="only positive samples in the test part of split 0"):
        CalibratedMultilabelClassifierCV(KNeighborsClassifier(), cv=5).fit(X, y)


@pytest.mark.parametrize("estimator", [LinearSVC(), MultiOutputClassifier(LinearSVC())])
def test_estimator_without_predict_proba_raises(estimator):
    X, y = _data(n_samples=50)
    with pytest.raises(ValueError, match="'fit' and 'predict_proba'"):
        CalibratedMultilabelClassifierCV(estimator).fit(X, y)


@pytest.mark.parametrize(
    "estimator",
    [
        _logistic(),  # a list of (n, 2) arrays
        KNeighborsClassifier(),  # a list of (n, 2) arrays
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0),  # (n, k)
    ],
    ids=["MultiOutputClassifier", "KNeighborsClassifier", "MLPClassifier"],
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_both_predict_proba_conventions_give_one_column_per_class(estimator):
    X, y = _data(n_samples=200)
    clf = CalibratedMultilabelClassifierCV(estimator, method="isotonic", cv=3).fit(X, y)

    proba = clf.predict_proba(X)
    assert proba.shape == (200, 3)
    assert np.all((proba >= 0) & (proba <= 1))
    assert np.array_equal(clf.predict(X), (proba >= 0.5).astype(int))
    assert np.array_equal(clf.classes_, np.arange(3))
    assert clf.n_features_in_ == 10


def test_ensemble_averages_fold_classifiers_and_only_a_single_one_has_maps():
    X, y = _data(n_samples=300)
    clf = CalibratedMultilabelClassifierCV(_logistic(), cv=3, ensemble=False).fit(X, y)
    full = clone(_logistic()).fit(X, y)
    assert len(clf.calibrated_classifiers_) == 1
    np.testing.assert_array_equal(
        positive_proba(clf.calibrated_classifiers_[0].estimator, X, 3), positive_proba(full, X, 3)
    )
    assert len(clf.calibration_maps_) == 3

    clf.set_params(ensemble=True).fit(X, y)
    pairs = clf.calibrated_classifiers_
    assert len(pairs) == 3
    assert not hasattr(clf, "calibration_maps_")
    mean = np.mean(
        [apply_calibration(positive_proba(p.estimator, X, 3), p.calibrators) for p in pairs], axis=0
    )
    np.testing.assert_allclose(clf.predict_proba(X), mean)


def test_binary_target_gives_two_column_probabilities():
    X, y = _data(n_samples=200)
    clf = CalibratedMultilabelClassifierCV(LogisticRegression(), cv=3).fit(X, y[:, 0])

    proba = clf.predict_proba(X)
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert np.array_equal(clf.predict(X), (proba[:, 1] >= 0.5).astype(int))
    assert np.array_equal(clf.classes_, [0, 1])


def test_dataframe_columns_name_the_classes():
    X, y = _data(n_samples=150)
    y = pd.DataFrame(y, columns=["NORM", "MI", "STTC"])
    clf = CalibratedMultilabelClassifierCV(_logistic(), cv=3).fit(X, y)
    assert list(clf.classes_) == ["NORM", "MI", "STTC"]


def test_works_in_a_pipeline_and_is_a_classifier():
    X, y = _data(n_samples=200)
    pipe = make_pipeline(StandardScaler(), CalibratedMultilabelClassifierCV(_logistic(), cv=3))
    assert pipe.fit(X, y).predict_proba(X).shape == (200, 3)

    inner = CalibratedMultilabelClassifierCV(make_pipeline(StandardScaler(), _logistic()), cv=3)
    assert inner.fit(X, y).predict(X).shape == (200, 3)
    assert get_tags(inner).estimator_type == "classifier"
    assert get_tags(inner).classifier_tags.multi_label


def test_threshold_optimizer_tunes_thresholds_on_the_calibrated_scale():
    X, y = _data(n_samples=300)
    calibrated = CalibratedMultilabelClassifierCV(_logistic(), method="isotonic", cv=3)
    clf = ThresholdOptimizer(calibrated, cv=3, random_state=0).fit(X, y)

    assert isinstance(clf.estimator_, CalibratedMultilabelClassifierCV)
    assert np.array_equal(clf.predict_proba(X), clf.estimator_.predict_proba(X))
    assert np.array_equal(clf.predict(X), (clf.predict_proba(X) >= clf.thresholds_).astype(int))


def test_grid_search_over_method():
    X, y = _data(n_samples=300)
    search = GridSearchCV(
        CalibratedMultilabelClassifierCV(_logistic(), cv=3), {"method": METHODS}, cv=2
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 3
    assert search.best_params_["method"] in METHODS
    assert search.predict(X).shape == (300, 3)


def test_pickle_keeps_predictions():
    X, y = _data(n_samples=200)
    clf = CalibratedMultilabelClassifierCV(_logistic(), method="sigmoid", cv=3).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_invalid_method_raises():
    X, y = _data(n_samples=50)
    with pytest.raises(ValueError, match="'method' parameter"):
        CalibratedMultilabelClassifierCV(_logistic(), method="beta").fit(X, y)
