"""Decision thresholds: tune_thresholds, apply_thresholds and ThresholdOptimizer."""

import pickle
from functools import partial

import numpy as np
import pandas as pd
import pytest
from _helpers import TINY
from joblib import parallel_backend
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import binomtest
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, make_scorer, precision_score, recall_score
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    ShuffleSplit,
    StratifiedKFold,
    TunedThresholdClassifierCV,
    cross_val_predict,
    cross_val_score,
)
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import MultiOutputClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils import get_tags

from cardionet_sk import (
    SUPERCLASSES,
    CardioNetClassifier,
    PTBXLWindower,
    ThresholdOptimizer,
    apply_thresholds,
    tune_thresholds,
)


class ProbaIsX(ClassifierMixin, BaseEstimator):
    """Prefit stand-in whose probabilities are its input, so optima can be worked out by hand."""

    def __init__(self, names=None):
        self.names = names

    def fit(self, X, y):
        n_classes = np.shape(X)[1]
        self.classes_ = np.arange(n_classes) if self.names is None else np.asarray(self.names)
        return self

    def predict_proba(self, X):
        return np.asarray(X, dtype=float)


class ListProbaIsX(ProbaIsX):
    """The same probabilities in the list convention of MultiOutputClassifier."""

    def fit(self, X, y):
        self.classes_ = [np.array([0, 1])] * np.shape(X)[1]
        return self

    def predict_proba(self, X):
        return [np.column_stack([1 - p, p]) for p in np.asarray(X, dtype=float).T]


# Nine records worked out by hand: probability 0.1 .. 0.9, labels below. With
# "proba >= t", t = 0.4 catches every positive at one false alarm (F1 10/11) and
# t = 0.6 makes no false alarm at one miss (Youden's J 0.8, MCC 0.8).
HAND_PROBA = np.arange(1, 10)[:, np.newaxis] / 10
HAND_Y = np.array([0, 0, 0, 1, 0, 1, 1, 1, 1])[:, np.newaxis]


def tune_by_hand(**params):
    return ThresholdOptimizer(ProbaIsX().fit(HAND_PROBA, HAND_Y), cv="prefit", **params).fit(
        HAND_PROBA, HAND_Y
    )


def make_labels(n_samples=160, n_classes=3, seed=0):
    X, y = make_multilabel_classification(
        n_samples=n_samples,
        n_features=8,
        n_classes=n_classes,
        n_labels=2,
        allow_unlabeled=True,
        random_state=seed,
    )
    return StandardScaler().fit_transform(X), y


def split_in_two(X, y):
    half = len(X) // 2
    return X[:half], y[:half], X[half:], y[half:]


# -- objectives ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, threshold, score",
    [
        ({"objective": "f1"}, 0.4, 10 / 11),
        ({"objective": "fbeta", "beta": 2.0}, 0.4, 25 / 26),
        ({"objective": "fbeta", "beta": 0.5}, 0.6, 5 / 5.25),
        ({"objective": "youden"}, 0.6, 0.8),
        ({"objective": "balanced_accuracy"}, 0.6, 0.9),
        ({"objective": "mcc"}, 0.6, 0.8),
        ({"objective": "specificity_at_sensitivity", "min_sensitivity": 1.0}, 0.4, 0.75),
        ({"objective": "specificity_at_sensitivity", "min_sensitivity": 0.8}, 0.6, 1.0),
    ],
)
def test_each_objective_finds_the_threshold_worked_out_by_hand(params, threshold, score):
    tuned = tune_by_hand(**params)
    assert_allclose(tuned.thresholds_, [threshold])
    assert_allclose(tuned.best_scores_, [score])
    assert_array_equal(tuned.predict(HAND_PROBA), HAND_PROBA >= threshold)


def test_ties_go_to_the_lowest_threshold():
    # Thresholds 0.6 and 0.7 both have specificity 1 at sensitivity >= 0.5.
    assert_allclose(
        tune_by_hand(objective="specificity_at_sensitivity", min_sensitivity=0.5).thresholds_,
        [0.6],
    )


def test_callable_objective_is_maximised_on_one_class_column():
    # Precision is 1 from 0.6 upwards; the lowest of those is kept.
    tuned = tune_by_hand(objective=precision_score)
    assert_allclose(tuned.thresholds_, [0.6])
    assert_allclose(tuned.best_scores_, [1.0])


def test_callable_f1_agrees_with_builtin_f1():
    X, y = make_labels()
    estimator = MultiOutputClassifier(LogisticRegression())
    builtin = ThresholdOptimizer(estimator, random_state=0).fit(X, y)
    from_callable = ThresholdOptimizer(estimator, objective=f1_score, random_state=0).fit(X, y)
    assert_allclose(from_callable.thresholds_, builtin.thresholds_)
    assert_allclose(from_callable.best_scores_, builtin.best_scores_)


def test_each_class_gets_its_own_threshold():
    proba = np.hstack([HAND_PROBA, HAND_PROBA])
    y = np.hstack([HAND_Y, [[0], [0], [0], [0], [0], [0], [0], [1], [1]]])
    tuned = ThresholdOptimizer(ProbaIsX().fit(proba, y), cv="prefit").fit(proba, y)
    assert_allclose(tuned.thresholds_, [0.4, 0.8])


@pytest.mark.parametrize(
    "thresholds, expected",
    [(5, 0.3), ([0.35, 0.45, 0.65], 0.35)],  # 5: 0.1, 0.3, 0.5, 0.7, 0.9
)
def test_thresholds_param_sets_the_candidates(thresholds, expected):
    assert_allclose(tune_by_hand(thresholds=thresholds).thresholds_, [expected])


def test_specificity_objective_meets_min_sensitivity_on_the_tuning_data():
    """Every class reaches its sensitivity, and the next higher threshold would not."""
    X, y = make_labels(n_samples=300, n_classes=4)
    X_train, y_train, X_tune, y_tune = split_in_two(X, y)
    min_sensitivity = np.array([0.95, 0.9, 0.8, 0.7])
    fitted = MultiOutputClassifier(LogisticRegression()).fit(X_train, y_train)
    tuned = ThresholdOptimizer(
        fitted,
        objective="specificity_at_sensitivity",
        min_sensitivity=min_sensitivity,
        cv="prefit",
    ).fit(X_tune, y_tune)

    assert np.all(recall_score(y_tune, tuned.predict(X_tune), average=None) >= min_sensitivity)
    proba = tuned.predict_proba(X_tune)
    for j, threshold in enumerate(tuned.thresholds_):
        next_threshold = proba[proba[:, j] > threshold, j].min()
        assert recall_score(y_tune[:, j], proba[:, j] >= next_threshold) < min_sensitivity[j]


def exact_lower_bound(successes, trials, confidence_level):
    """One-sided Clopper-Pearson bound, from scipy's two-sided exact interval."""
    interval = binomtest(successes, trials).proportion_ci(2 * confidence_level - 1, "exact")
    return interval.low


def test_confidence_level_holds_the_lower_bound_of_sensitivity():
    """The bound reaches min_sensitivity at each threshold, not at the next higher one."""
    X, y = make_labels(n_samples=400, n_classes=3)
    X_train, y_train, X_tune, y_tune = split_in_two(X, y)
    fitted = MultiOutputClassifier(LogisticRegression()).fit(X_train, y_train)
    tuned = ThresholdOptimizer(
        fitted,
        objective="specificity_at_sensitivity",
        min_sensitivity=0.7,
        confidence_level=0.95,
        cv="prefit",
    ).fit(X_tune, y_tune)

    proba = tuned.predict_proba(X_tune)
    for j, threshold in enumerate(tuned.thresholds_):
        positives = proba[y_tune[:, j] == 1, j]
        hits = int((positives >= threshold).sum())
        assert exact_lower_bound(hits, positives.size, 0.95) >= 0.7
        assert exact_lower_bound(hits - 1, positives.size, 0.95) < 0.7
        # A margin above the point estimate: the unbounded search keeps a higher threshold.
        assert hits / positives.size > 0.7


def test_confidence_level_lowers_the_thresholds():
    X, y = make_labels(n_samples=400, n_classes=3)
    X_train, y_train, X_tune, y_tune = split_in_two(X, y)
    fitted = MultiOutputClassifier(LogisticRegression()).fit(X_train, y_train)
    tuned = {
        level: ThresholdOptimizer(
            fitted,
            objective="specificity_at_sensitivity",
            min_sensitivity=0.7,
            confidence_level=level,
            cv="prefit",
        )
        .fit(X_tune, y_tune)
        .thresholds_
        for level in (None, 0.95)
    }
    assert np.all(tuned[0.95] < tuned[None])


def test_best_scores_are_the_objective_on_pooled_out_of_fold_probabilities():
    X, y = make_labels()
    cv = KFold(4, shuffle=True, random_state=0)
    estimator = MultiOutputClassifier(LogisticRegression())
    tuned = ThresholdOptimizer(estimator, cv=cv).fit(X, y)

    out_of_fold = cross_val_predict(estimator, X, y, cv=cv, method="predict_proba")
    out_of_fold = np.column_stack([p[:, 1] for p in out_of_fold])
    y_pred = (out_of_fold >= tuned.thresholds_).astype(int)
    assert_allclose(tuned.best_scores_, f1_score(y, y_pred, average=None))


def test_binary_threshold_agrees_with_tuned_threshold_classifier_cv():
    """Same folds, same candidate grid, F1: the two tuners agree on a binary problem.

    TunedThresholdClassifierCV maximises the mean of per-fold F1 curves and
    ThresholdOptimizer the F1 of the pooled out-of-fold probabilities, so the
    two thresholds need not coincide where the F1 curve is flat. What must
    hold is that, scored on the pooled out-of-fold probabilities, ours is the
    best of the grid and theirs is within 0.02 of it; on these data the two
    thresholds are also within 0.05 and both refit the same classifier.
    """
    X, y = make_classification(n_samples=300, weights=[0.8], class_sep=0.7, random_state=0)
    cv = KFold(5, shuffle=True, random_state=0)
    grid = np.linspace(0.01, 0.99, 99)
    ours = ThresholdOptimizer(LogisticRegression(), cv=cv, thresholds=grid).fit(X, y)
    theirs = TunedThresholdClassifierCV(
        LogisticRegression(), scoring="f1", cv=cv, thresholds=grid
    ).fit(X, y)

    out_of_fold = cross_val_predict(LogisticRegression(), X, y, cv=cv, method="predict_proba")
    oof_f1 = [f1_score(y, out_of_fold[:, 1] >= t) for t in grid]
    ours_f1 = f1_score(y, out_of_fold[:, 1] >= ours.thresholds_[0])
    theirs_f1 = f1_score(y, out_of_fold[:, 1] >= theirs.best_threshold_)
    assert ours_f1 == pytest.approx(max(oof_f1))
    assert theirs_f1 >= ours_f1 - 0.02
    assert ours.thresholds_[0] == pytest.approx(theirs.best_threshold_, abs=0.05)
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X))


# -- tune_thresholds and apply_thresholds ---------------------------------------------------


def test_tune_thresholds_finds_the_threshold_worked_out_by_hand():
    best_thresholds, best_scores = tune_thresholds(HAND_Y, HAND_PROBA)
    assert_allclose(best_thresholds, [0.4])
    assert_allclose(best_scores, [10 / 11])


@pytest.mark.parametrize(
    "params",
    [
        {"objective": "f1"},
        {"objective": "fbeta", "beta": 2.0},
        {"objective": "mcc", "thresholds": 7},
        {"objective": precision_score, "thresholds": [0.2, 0.4, 0.6]},
        {
            "objective": "specificity_at_sensitivity",
            "min_sensitivity": [0.9, 0.8, 0.7],
            "confidence_level": 0.9,
        },
    ],
    ids=["f1", "fbeta", "mcc-grid", "callable", "specificity-with-confidence"],
)
def test_tune_thresholds_matches_threshold_optimizer_prefit(params):
    X, y = make_labels(n_samples=300)
    X_train, y_train, X_tune, y_tune = split_in_two(X, y)
    fitted = MultiOutputClassifier(LogisticRegression()).fit(X_train, y_train)
    tuned = ThresholdOptimizer(fitted, cv="prefit", **params).fit(X_tune, y_tune)

    best_thresholds, best_scores = tune_thresholds(y_tune, tuned.predict_proba(X_tune), **params)
    assert_array_equal(best_thresholds, tuned.thresholds_)
    assert_array_equal(best_scores, tuned.best_scores_)


def test_tune_thresholds_best_scores_are_the_f1_of_the_applied_thresholds():
    rng = np.random.default_rng(0)
    proba = rng.uniform(size=(80, 3))
    y = (rng.uniform(size=(80, 3)) < proba).astype(int)
    best_thresholds, best_scores = tune_thresholds(y, proba)
    y_pred = apply_thresholds(proba, best_thresholds)
    assert_allclose(best_scores, f1_score(y, y_pred, average=None))
    # Each threshold is the best observed probability: no other one does better.
    for j in range(3):
        others = [f1_score(y[:, j], proba[:, j] >= t) for t in proba[:, j]]
        assert best_scores[j] == pytest.approx(max(others))


def test_tune_thresholds_reads_a_binary_problem_from_vectors():
    best_thresholds, best_scores = tune_thresholds(HAND_Y[:, 0], HAND_PROBA[:, 0])
    assert_allclose(best_thresholds, [0.4])
    assert_allclose(best_scores, [10 / 11])


def test_tune_thresholds_names_dataframe_columns_in_warnings():
    y = pd.DataFrame({"NORM": HAND_Y[:, 0], "HYP": 0})
    with pytest.warns(UserWarning, match="Class 'HYP' has only negative examples"):
        best_thresholds, best_scores = tune_thresholds(y, np.hstack([HAND_PROBA, HAND_PROBA]))
    assert_allclose(best_thresholds, [0.4, 0.5])
    assert_allclose(best_scores, [10 / 11, np.nan])


def test_tune_thresholds_names_classes_from_class_names():
    with pytest.raises(ValueError, match="sensitivity 1.0 for class 'MI'"):
        tune_thresholds(
            HAND_Y,
            HAND_PROBA,
            objective="specificity_at_sensitivity",
            min_sensitivity=1.0,
            thresholds=[0.5, 0.7],
            class_names=["MI"],
        )


def test_tune_thresholds_rejects_class_names_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"class_names must have one name per class \(1\); got 2"):
        tune_thresholds(HAND_Y, HAND_PROBA, class_names=["NORM", "MI"])


@pytest.mark.parametrize(
    "proba, match",
    [
        (HAND_PROBA[:-1], r"shape \(9, 1\); got shape \(8, 1\)\.$"),
        (np.hstack([1 - HAND_PROBA, HAND_PROBA]), r"binary problem, pass .* proba\[:, 1\]"),
    ],
    ids=["rows", "binary-two-columns"],
)
def test_tune_thresholds_rejects_proba_not_shaped_like_y_true(proba, match):
    with pytest.raises(ValueError, match=match):
        tune_thresholds(HAND_Y, proba)


def test_tune_thresholds_rejects_nan_probabilities():
    proba = HAND_PROBA.copy()
    proba[3] = np.nan
    with pytest.raises(ValueError, match="Input proba contains NaN"):
        tune_thresholds(HAND_Y, proba)


def test_tune_thresholds_rejects_y_true_that_is_not_an_indicator():
    with pytest.raises(ValueError, match="y_true must be a 0/1 indicator matrix"):
        tune_thresholds(HAND_Y * 2, HAND_PROBA)


def test_tune_thresholds_validates_its_parameters():
    with pytest.raises(ValueError, match="'objective' parameter of tune_thresholds"):
        tune_thresholds(HAND_Y, HAND_PROBA, objective="accuracy")


def test_apply_thresholds_compares_each_column_with_its_threshold():
    proba = np.array([[0.2, 0.3, 0.9], [0.5, 0.29, 0.1]])
    y_pred = apply_thresholds(proba, [0.5, 0.3, 0.6])
    # A probability equal to its threshold is a positive.
    assert_array_equal(y_pred, [[0, 1, 1], [1, 0, 0]])
    assert y_pred.dtype == np.int64


def test_apply_thresholds_broadcasts_a_scalar_threshold():
    assert_array_equal(apply_thresholds([[0.2, 0.7], [0.6, 0.4]], 0.5), [[0, 1], [1, 0]])


def test_apply_thresholds_on_a_binary_vector_predicts_like_threshold_optimizer():
    X, y = make_classification(n_samples=120, random_state=0)
    tuned = ThresholdOptimizer(LogisticRegression(), random_state=0).fit(X, y)
    proba = tuned.predict_proba(X)[:, 1]
    y_pred = apply_thresholds(proba, tuned.thresholds_)
    assert_array_equal(y_pred, tuned.predict(X))
    assert_array_equal(y_pred, proba >= tuned.thresholds_[0])


@pytest.mark.parametrize(
    "proba, thresholds",
    [(np.full((2, 3), 0.5), [0.5, 0.5]), (np.full((2, 2), 0.5), [0.5])],
    ids=["too-few", "binary-two-columns"],
)
def test_apply_thresholds_rejects_wrong_number_of_thresholds(proba, thresholds):
    n_classes = proba.shape[1]
    with pytest.raises(ValueError, match=rf"one value per class \({n_classes}\); got shape"):
        apply_thresholds(proba, thresholds)


@pytest.mark.parametrize(
    "proba, thresholds, match",
    [
        ([[0.2, np.nan]], 0.5, "Input proba contains NaN"),
        ([[0.2, 0.4]], [0.5, np.nan], r"thresholds values must lie in \[0, 1\]"),
        ([[0.2, 0.4]], np.nan, "'thresholds' parameter of apply_thresholds"),
        ([[0.2, 0.4]], [0.5, 1.5], r"thresholds values must lie in \[0, 1\]"),
    ],
    ids=["nan-proba", "nan-threshold", "nan-scalar", "out-of-range"],
)
def test_apply_thresholds_rejects_nan_and_out_of_range_values(proba, thresholds, match):
    with pytest.raises(ValueError, match=match):
        apply_thresholds(proba, thresholds)


def test_apply_thresholds_rejects_more_than_two_dimensions():
    with pytest.raises(ValueError, match="Found array with dim 3"):
        apply_thresholds(np.full((2, 3, 1), 0.5), 0.5)


# -- cross-validation, prefit and refit ----------------------------------------------------


def test_prefit_uses_the_fitted_estimator_without_refitting_it():
    X, y = make_labels()
    X_train, y_train, X_tune, y_tune = split_in_two(X, y)
    fitted = MultiOutputClassifier(LogisticRegression()).fit(X_train, y_train)
    sub_estimators = fitted.estimators_
    coefs = [e.coef_.copy() for e in sub_estimators]

    tuned = ThresholdOptimizer(fitted, cv="prefit").fit(X_tune, y_tune)

    assert tuned.estimator_ is fitted
    assert fitted.estimators_ is sub_estimators
    for estimator, coef in zip(fitted.estimators_, coefs):
        assert_array_equal(estimator.coef_, coef)


def test_prefit_requires_a_fitted_estimator():
    X, y = make_labels()
    with pytest.raises(NotFittedError):
        ThresholdOptimizer(MultiOutputClassifier(LogisticRegression()), cv="prefit").fit(X, y)


@pytest.mark.parametrize(
    "cv, refit",
    [(0.25, True), (3, False)],
    ids=["float-cv", "several-splits-without-refit"],
)
def test_frozen_estimator_is_tuned_on_all_the_data_like_prefit(cv, refit):
    X, y = make_labels()
    X_train, y_train, X_tune, y_tune = split_in_two(X, y)
    fitted = MultiOutputClassifier(LogisticRegression()).fit(X_train, y_train)
    coefs = [e.coef_.copy() for e in fitted.estimators_]
    frozen = FrozenEstimator(fitted)

    tuned = ThresholdOptimizer(frozen, cv=cv, refit=refit).fit(X_tune, y_tune)
    prefit = ThresholdOptimizer(fitted, cv="prefit").fit(X_tune, y_tune)

    assert tuned.estimator_ is frozen
    for estimator, coef in zip(fitted.estimators_, coefs):
        assert_array_equal(estimator.coef_, coef)
    assert_array_equal(tuned.thresholds_, prefit.thresholds_)
    assert_array_equal(tuned.best_scores_, prefit.best_scores_)
    assert_array_equal(tuned.predict(X_tune), prefit.predict(X_tune))


def test_frozen_estimator_must_wrap_a_fitted_estimator():
    X, y = make_labels()
    with pytest.raises(NotFittedError):
        ThresholdOptimizer(FrozenEstimator(MultiOutputClassifier(LogisticRegression()))).fit(X, y)


def test_refit_fits_the_estimator_on_all_the_data():
    X, y = make_labels()
    estimator = MultiOutputClassifier(LogisticRegression())
    tuned = ThresholdOptimizer(estimator, random_state=0).fit(X, y)
    assert tuned.estimator_ is not estimator
    assert_allclose(
        tuned.predict_proba(X)[:, 0], clone(estimator).fit(X, y).predict_proba(X)[0][:, 1]
    )


def test_float_cv_without_refit_keeps_the_model_of_its_single_split():
    X, y = make_labels()
    estimator = MultiOutputClassifier(LogisticRegression())
    tuned = ThresholdOptimizer(estimator, cv=0.25, refit=False, random_state=0).fit(X, y)

    train, _ = next(ShuffleSplit(n_splits=1, test_size=0.25, random_state=0).split(X))
    expected = clone(estimator).fit(X[train], y[train]).predict_proba(X)
    assert_allclose(tuned.predict_proba(X), np.column_stack([p[:, 1] for p in expected]))


def test_without_refit_several_splits_are_rejected():
    X, y = make_labels()
    with pytest.raises(ValueError, match="refit=False needs a cv with a single split; got 3"):
        ThresholdOptimizer(MultiOutputClassifier(LogisticRegression()), cv=3, refit=False).fit(X, y)


@pytest.mark.parametrize(
    "make_data, estimator, splitter",
    [
        (make_labels, MultiOutputClassifier(LogisticRegression()), KFold),
        (partial(make_classification, random_state=0), LogisticRegression(), StratifiedKFold),
    ],
    ids=["multilabel-kfold", "binary-stratified"],
)
def test_int_cv_is_a_shuffled_splitter_seeded_by_random_state(make_data, estimator, splitter):
    X, y = make_data()
    from_int = ThresholdOptimizer(estimator, cv=4, random_state=3).fit(X, y)
    from_splitter = ThresholdOptimizer(estimator, cv=splitter(4, shuffle=True, random_state=3)).fit(
        X, y
    )
    assert_allclose(from_int.thresholds_, from_splitter.thresholds_)


def test_parallel_folds_give_the_same_thresholds():
    X, y = make_labels()
    estimator = MultiOutputClassifier(LogisticRegression())
    sequential = ThresholdOptimizer(estimator, random_state=0).fit(X, y)
    with parallel_backend("threading"):
        parallel = ThresholdOptimizer(estimator, random_state=0, n_jobs=2).fit(X, y)
    assert_array_equal(parallel.thresholds_, sequential.thresholds_)


# -- predict_proba conventions -------------------------------------------------------------


def test_array_and_list_probabilities_give_the_same_thresholds():
    rng = np.random.default_rng(0)
    proba = rng.uniform(size=(60, 3))
    y = (rng.uniform(size=(60, 3)) < proba).astype(int)
    from_array = ThresholdOptimizer(ProbaIsX().fit(proba, y), cv="prefit").fit(proba, y)
    from_list = ThresholdOptimizer(ListProbaIsX().fit(proba, y), cv="prefit").fit(proba, y)
    assert_allclose(from_list.thresholds_, from_array.thresholds_)
    assert_allclose(from_list.predict_proba(proba), proba)
    assert_array_equal(from_list.predict(proba), from_array.predict(proba))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "estimator",
    [
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=200, random_state=0),
        OneVsRestClassifier(LogisticRegression()),
        MultiOutputClassifier(LogisticRegression()),
        KNeighborsClassifier(),
        RandomForestClassifier(n_estimators=10, random_state=0),
    ],
    ids=lambda est: type(est).__name__,
)
def test_multilabel_estimators_of_either_convention(estimator):
    X, y = make_labels()
    tuned = ThresholdOptimizer(estimator, cv=3, random_state=0).fit(X, y)
    proba = tuned.predict_proba(X)

    assert tuned.thresholds_.shape == tuned.best_scores_.shape == (3,)
    assert proba.shape == (len(X), 3)
    assert np.all((proba >= 0) & (proba <= 1))
    assert_array_equal(tuned.predict(X), proba >= tuned.thresholds_)
    assert tuned.n_features_in_ == X.shape[1]


def test_binary_problem_keeps_the_binary_shapes():
    X, y = make_classification(n_samples=120, random_state=0)
    tuned = ThresholdOptimizer(LogisticRegression(), random_state=0).fit(X, y)
    proba = tuned.predict_proba(X)

    assert_array_equal(tuned.classes_, [0, 1])
    assert tuned.thresholds_.shape == (1,)
    assert_allclose(proba, tuned.estimator_.predict_proba(X))
    assert_array_equal(tuned.predict(X), proba[:, 1] >= tuned.thresholds_[0])
    assert tuned.predict(X).ndim == 1


def test_label_absent_from_training_has_probability_zero():
    X, y = make_labels()
    y[:, 2] = 0
    fitted = KNeighborsClassifier().fit(X, y)  # one probability column for label 2
    tuned = ThresholdOptimizer(fitted, cv="prefit").fit(*make_labels(seed=1))
    assert_array_equal(tuned.predict_proba(X)[:, 2], 0)


# -- class names ---------------------------------------------------------------------------


def test_class_names_come_from_dataframe_columns():
    X, y = make_labels(n_classes=5)
    y = pd.DataFrame(y, columns=list(SUPERCLASSES))
    tuned = ThresholdOptimizer(MultiOutputClassifier(LogisticRegression()), cv=3).fit(X, y)
    assert tuned.classes_.tolist() == list(SUPERCLASSES)


def test_class_names_come_from_string_classes_of_the_estimator():
    fitted = ProbaIsX(names=["NORM"]).fit(HAND_PROBA, HAND_Y)
    tuned = ThresholdOptimizer(fitted, cv="prefit").fit(HAND_PROBA, HAND_Y)
    assert tuned.classes_.tolist() == ["NORM"]


def test_class_names_default_to_indices():
    X, y = make_labels()
    tuned = ThresholdOptimizer(MultiOutputClassifier(LogisticRegression()), cv=3).fit(X, y)
    assert_array_equal(tuned.classes_, [0, 1, 2])


# -- degenerate and bad input --------------------------------------------------------------


@pytest.mark.parametrize("value, kind", [(0, "negative"), (1, "positive")])
def test_class_with_a_single_label_value_keeps_half_and_warns(value, kind):
    proba = np.hstack([HAND_PROBA, HAND_PROBA])
    y = pd.DataFrame({"NORM": HAND_Y[:, 0], "HYP": value})
    fitted = ProbaIsX().fit(proba, y)
    with pytest.warns(UserWarning, match=f"Class 'HYP' has only {kind} examples"):
        tuned = ThresholdOptimizer(fitted, cv="prefit").fit(proba, y)
    assert_allclose(tuned.thresholds_, [0.4, 0.5])
    assert np.isnan(tuned.best_scores_[1])


@pytest.mark.parametrize("estimator", [LinearSVC(), MultiOutputClassifier(LinearSVC())])
def test_estimator_without_predict_proba_is_rejected(estimator):
    X, y = make_labels()
    with pytest.raises(ValueError, match=r"'fit' and 'predict_proba'. Got .*LinearSVC"):
        ThresholdOptimizer(estimator).fit(X, y)


@pytest.mark.parametrize(
    "y, match",
    [
        (HAND_Y * 2, "0/1 indicator matrix"),
        (HAND_Y.astype(str), "0/1 indicator matrix"),
        (None, "requires y to be passed"),
    ],
)
def test_y_that_is_not_a_0_1_indicator_is_rejected(y, match):
    fitted = ProbaIsX().fit(HAND_PROBA, HAND_Y)
    with pytest.raises(ValueError, match=match):
        ThresholdOptimizer(fitted, cv="prefit").fit(HAND_PROBA, y)


@pytest.mark.parametrize(
    "min_sensitivity, match",
    [
        (1.5, "min_sensitivity"),
        (-0.1, "min_sensitivity"),
        ([1.2], r"min_sensitivity values must lie in \[0, 1\]"),
        ([0.5, 0.5], r"min_sensitivity must be a scalar or have one value per class \(1\)"),
        (None, "needs min_sensitivity"),
    ],
)
def test_min_sensitivity_is_validated(min_sensitivity, match):
    with pytest.raises(ValueError, match=match):
        tune_by_hand(objective="specificity_at_sensitivity", min_sensitivity=min_sensitivity)


@pytest.mark.parametrize("confidence_level", [0.0, 1.0, 1.5])
def test_confidence_level_outside_the_open_unit_interval_is_rejected(confidence_level):
    with pytest.raises(ValueError, match="'confidence_level' parameter"):
        tune_by_hand(
            objective="specificity_at_sensitivity",
            min_sensitivity=0.5,
            confidence_level=confidence_level,
        )


def test_sensitivity_unreachable_with_confidence_names_the_confidence():
    # Five of five positives bound sensitivity at 0.05 ** (1 / 5) = 0.55 with 95 % confidence.
    with pytest.raises(ValueError, match="sensitivity 0.6 with confidence 0.95 for class"):
        tune_by_hand(
            objective="specificity_at_sensitivity", min_sensitivity=0.6, confidence_level=0.95
        )


def test_candidates_that_cannot_reach_min_sensitivity_are_rejected():
    with pytest.raises(ValueError, match="No candidate threshold reaches sensitivity 1.0"):
        tune_by_hand(
            objective="specificity_at_sensitivity", min_sensitivity=1.0, thresholds=[0.5, 0.7]
        )


def test_probabilities_of_the_wrong_width_are_rejected():
    proba = np.hstack([HAND_PROBA] * 3)
    fitted = ProbaIsX().fit(proba, HAND_Y)
    with pytest.raises(ValueError, match=r"shape \(9, 3\), which cannot be read .* 1 labels"):
        ThresholdOptimizer(fitted, cv="prefit").fit(proba, HAND_Y)


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        ThresholdOptimizer(LogisticRegression()).predict(HAND_PROBA)


# -- the scikit-learn contract ---------------------------------------------------------------


def test_is_a_multilabel_classifier():
    tuned = ThresholdOptimizer(LogisticRegression())
    assert is_classifier(tuned)
    assert get_tags(tuned).classifier_tags.multi_label


def test_clone_and_pickle_round_trip():
    X, y = make_labels()
    tuned = ThresholdOptimizer(
        MultiOutputClassifier(LogisticRegression()), objective="mcc", cv=3, random_state=0
    ).fit(X, y)

    cloned = clone(tuned)
    assert cloned.get_params()["objective"] == "mcc"
    assert not hasattr(cloned, "thresholds_")

    restored = pickle.loads(pickle.dumps(tuned))
    assert_array_equal(restored.thresholds_, tuned.thresholds_)
    assert_array_equal(restored.predict(X), tuned.predict(X))


def test_feature_names_pass_through():
    X, y = make_labels()
    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    tuned = ThresholdOptimizer(MultiOutputClassifier(LogisticRegression()), cv=3).fit(X, y)
    assert tuned.feature_names_in_.tolist() == list(X.columns)


def test_sample_weight_is_routed_to_the_estimator():
    X, y = make_classification(n_samples=120, random_state=0)
    weights = np.random.default_rng(0).uniform(size=len(y))
    with config_context(enable_metadata_routing=True):
        estimator = LogisticRegression().set_fit_request(sample_weight=True)
        tuned = ThresholdOptimizer(estimator, random_state=0).fit(X, y, sample_weight=weights)
        expected = clone(estimator).fit(X, y, sample_weight=weights)
    assert_allclose(tuned.estimator_.coef_, expected.coef_)


def test_fit_params_need_metadata_routing():
    X, y = make_classification(n_samples=60, random_state=0)
    with pytest.raises(ValueError, match="enable_metadata_routing=True"):
        ThresholdOptimizer(LogisticRegression()).fit(X, y, sample_weight=np.ones(len(y)))


def test_pipeline_in_cross_val_score_and_grid_search():
    X, y = make_labels()
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "clf",
                ThresholdOptimizer(
                    MultiOutputClassifier(LogisticRegression()), cv=3, random_state=0
                ),
            ),
        ]
    )
    macro_f1 = make_scorer(f1_score, average="macro")

    scores = cross_val_score(pipe, X, y, cv=3, scoring=macro_f1)
    assert np.all((scores > 0) & (scores <= 1))

    grid = {"clf__estimator__estimator__C": [0.1, 1.0], "clf__objective": ["f1", "youden"]}
    search = GridSearchCV(pipe, grid, cv=3, scoring=macro_f1).fit(X, y)
    assert not np.isnan(search.cv_results_["mean_test_score"]).any()
    assert search.best_params_["clf__objective"] in ("f1", "youden")
    assert search.best_estimator_.predict(X).shape == y.shape


# -- with CardioNetClassifier ----------------------------------------------------------------

# A network small enough that a fit takes a second on two CPU cores.


def make_ecgs(n_records, n_timesteps):
    """Random records whose five labels depend on the signal."""
    X = np.random.default_rng(0).normal(size=(n_records, n_timesteps, 12)).astype(np.float32)
    return X, (X[:, :, :5].mean(axis=1) > 0).astype(int)


def test_tuned_thresholds_can_be_carried_by_the_classifier():
    X, y = make_ecgs(40, 32)
    clf = CardioNetClassifier(**TINY, class_names=SUPERCLASSES).fit(X, y)
    tuned = ThresholdOptimizer(clf, cv="prefit").fit(X, y)
    assert tuned.classes_.tolist() == list(SUPERCLASSES)

    carried = clone(clf).set_params(threshold=tuned.thresholds_).fit(X, y)
    assert_array_equal(carried.predict(X), tuned.predict(X))


def test_pipeline_with_cardionet_in_cross_val_score_and_grid_search():
    X, y = make_ecgs(36, 64)
    y[:3], y[3:6] = 1, 0  # both values of every label in every fold
    # A float cv without refit trains the network once per fit.
    tuned = ThresholdOptimizer(CardioNetClassifier(**TINY), cv=0.3, refit=False, random_state=0)
    pipe = Pipeline([("window", PTBXLWindower(32, 16)), ("clf", tuned)])
    macro_f1 = make_scorer(f1_score, average="macro", zero_division=0)

    assert cross_val_score(pipe, X, y, cv=KFold(2), scoring=macro_f1).shape == (2,)
    search = GridSearchCV(
        pipe,
        {"clf__estimator__model__dense_units": [4, 8], "clf__objective": ["f1", "youden"]},
        cv=KFold(2),
        scoring=macro_f1,
    ).fit(X, y)
    assert not np.isnan(search.cv_results_["mean_test_score"]).any()
