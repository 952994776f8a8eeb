"""ThresholdOptimizer: per-class thresholds for any multi-label estimator."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, make_scorer, recall_score
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    TunedThresholdClassifierCV,
    cross_val_predict,
    cross_val_score,
)
from sklearn.multioutput import MultiOutputClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

from cardionet_sk import CardioNetClassifier, ThresholdOptimizer

MACRO_F1 = make_scorer(f1_score, average="macro", zero_division=0)


@pytest.fixture(scope="module")
def multilabel():
    return make_multilabel_classification(n_samples=400, n_features=10, n_classes=4, random_state=0)


def logistic():
    return MultiOutputClassifier(LogisticRegression(max_iter=1000))


class FixedProba(ClassifierMixin, BaseEstimator):
    """A 'fitted' estimator returning given probabilities, to check the search itself."""

    def __init__(self, proba):
        self.proba = proba

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        return self.proba[np.asarray(X)[:, 0].astype(int)]

    def __sklearn_is_fitted__(self):
        return True


def prefit(proba, y, **kwargs):
    X = np.arange(len(y))[:, None]
    return ThresholdOptimizer(FixedProba(proba), cv="prefit", **kwargs).fit(X, y)


# -- the search ---------------------------------------------------------------------------


def test_f1_threshold_separates_perfectly_separable_scores():
    y = np.array([[0], [0], [0], [1], [1]])
    proba = np.array([[0.1], [0.2], [0.3], [0.6], [0.9]])
    opt = prefit(proba, y)
    # Midway between the lowest positive and the highest negative probability.
    assert opt.thresholds_[0] == pytest.approx(0.45)
    assert opt.best_scores_[0] == 1.0


@pytest.mark.parametrize("objective", ["f1", "youden", "balanced_accuracy", "mcc"])
def test_each_objective_picks_the_threshold_maximising_it(objective):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(300, 1))
    proba = np.clip(0.3 * y + rng.uniform(0, 0.7, size=y.shape), 0, 1)
    opt = prefit(proba, y, objective=objective)
    metric = {
        "f1": lambda t, p: f1_score(t, p),
        "youden": lambda t, p: recall_score(t, p) + recall_score(1 - t, 1 - p) - 1,
        "balanced_accuracy": lambda t, p: (recall_score(t, p) + recall_score(1 - t, 1 - p)) / 2,
        "mcc": lambda t, p: __import__("sklearn.metrics").metrics.matthews_corrcoef(t, p),
    }[objective]
    achieved = metric(y[:, 0], (proba[:, 0] >= opt.thresholds_[0]).astype(int))
    brute = max(metric(y[:, 0], (proba[:, 0] >= t).astype(int)) for t in np.unique(proba))
    assert achieved == pytest.approx(brute)
    assert opt.best_scores_[0] == pytest.approx(brute)


def test_fbeta_with_large_beta_favours_recall():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=(300, 1))
    proba = np.clip(0.3 * y + rng.uniform(0, 0.7, size=y.shape), 0, 1)
    f1 = prefit(proba, y, objective="f1").thresholds_[0]
    f4 = prefit(proba, y, objective="fbeta", beta=4).thresholds_[0]
    assert f4 < f1


def test_callable_objective_is_maximised():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, size=(200, 1))
    proba = np.clip(0.3 * y + rng.uniform(0, 0.7, size=y.shape), 0, 1)
    opt = prefit(proba, y, objective=lambda t, p: recall_score(t, p) - 0.5 * p.mean())
    assert np.isfinite(opt.best_scores_[0])
    achieved = (
        recall_score(y[:, 0], proba[:, 0] >= opt.thresholds_[0])
        - 0.5 * (proba[:, 0] >= opt.thresholds_[0]).mean()
    )
    assert achieved == pytest.approx(opt.best_scores_[0])


def test_minimum_sensitivity_is_kept_on_the_tuning_data(multilabel):
    X, y = multilabel
    opt = ThresholdOptimizer(
        logistic(),
        objective="specificity_at_sensitivity",
        min_sensitivity=0.9,
        cv=3,
        random_state=0,
    ).fit(X, y)
    oof = cross_val_predict(
        logistic(), X, y, cv=KFold(3, shuffle=True, random_state=0), method="predict_proba"
    )
    oof = np.column_stack([p[:, 1] for p in oof])
    recall = ((oof >= opt.thresholds_) & (y == 1)).sum(axis=0) / y.sum(axis=0)
    assert (recall >= 0.9).all()


def test_per_class_minimum_sensitivities(multilabel):
    X, y = multilabel
    opt = ThresholdOptimizer(
        logistic(),
        objective="specificity_at_sensitivity",
        min_sensitivity=[0.5, 0.99, 0.5, 0.5],
        cv=3,
        random_state=0,
    )
    opt.fit(X, y)
    assert opt.thresholds_[1] < opt.thresholds_[0] or opt.thresholds_[1] < 0.2


# -- estimators and conventions -----------------------------------------------------------


@pytest.mark.parametrize(
    "estimator",
    [
        logistic(),  # list of (n, 2) arrays
        KNeighborsClassifier(n_neighbors=7),  # list of (n, 2) arrays
        MLPClassifier((16,), max_iter=300, random_state=0),  # one (n, k) array
    ],
)
def test_works_with_both_multilabel_predict_proba_conventions(estimator, multilabel):
    X, y = multilabel
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLP convergence
        opt = ThresholdOptimizer(estimator, cv=3, random_state=0).fit(X, y)
    assert opt.thresholds_.shape == (4,)
    assert ((opt.thresholds_ > 0) & (opt.thresholds_ < 1)).all()
    proba = opt.predict_proba(X)
    assert proba.shape == (400, 4)
    np.testing.assert_array_equal(opt.predict(X), proba >= opt.thresholds_)
    np.testing.assert_array_equal(opt.classes_, np.arange(4))


def test_tuned_thresholds_beat_one_half_on_macro_f1_out_of_fold(multilabel):
    X, y = multilabel
    tuned = cross_val_score(
        ThresholdOptimizer(logistic(), cv=3, random_state=0),
        X,
        y,
        cv=KFold(3, shuffle=True, random_state=1),
        scoring=MACRO_F1,
    )
    plain = cross_val_score(
        logistic(), X, y, cv=KFold(3, shuffle=True, random_state=1), scoring=MACRO_F1
    )
    assert tuned.mean() > plain.mean()


def test_binary_result_agrees_with_tuned_threshold_classifier_cv():
    """Same folds, same objective: TunedThresholdClassifierCV averages per-fold F1 curves on
    a grid, we search the pooled out-of-fold probabilities, so the thresholds differ a little
    but both must reach the same F1 on the pooled out-of-fold data."""
    X, y = make_classification(n_samples=600, weights=[0.8], random_state=0)
    cv = StratifiedKFold(5)
    ours = ThresholdOptimizer(LogisticRegression(), cv=cv).fit(X, y)
    theirs = TunedThresholdClassifierCV(
        LogisticRegression(), scoring="f1", cv=cv, thresholds=1000
    ).fit(X, y)
    assert ours.thresholds_[0] == pytest.approx(theirs.best_threshold_, abs=0.1)
    oof = cross_val_predict(LogisticRegression(), X, y, cv=cv, method="predict_proba")[:, 1]
    f1_ours = f1_score(y, oof >= ours.thresholds_[0])
    f1_theirs = f1_score(y, oof >= theirs.best_threshold_)
    assert f1_ours == pytest.approx(f1_theirs, abs=0.02)
    assert ours.predict(X).shape == (600,)
    assert ours.predict_proba(X).shape == (600, 2)


def test_prefit_tunes_without_refitting(multilabel):
    X, y = multilabel
    fitted = logistic().fit(X[:200], y[:200])
    coef = fitted.estimators_[0].coef_.copy()
    opt = ThresholdOptimizer(fitted, cv="prefit").fit(X[200:], y[200:])
    assert opt.estimator_ is fitted
    np.testing.assert_array_equal(fitted.estimators_[0].coef_, coef)


def test_float_cv_fits_once_on_a_held_out_split_and_refit_false_keeps_it(multilabel):
    X, y = multilabel
    opt = ThresholdOptimizer(logistic(), cv=0.25, refit=False, random_state=0).fit(X, y)
    assert opt.thresholds_.shape == (4,)
    with pytest.raises(ValueError, match="refit=False keeps the model of a single split"):
        ThresholdOptimizer(logistic(), cv=3, refit=False).fit(X, y)


def test_dataframe_columns_name_the_classes(multilabel):
    import pandas as pd

    X, y = multilabel
    frame = pd.DataFrame(y, columns=["a", "b", "c", "d"])
    opt = ThresholdOptimizer(logistic(), cv=3).fit(X, frame)
    assert opt.classes_.tolist() == ["a", "b", "c", "d"]


def test_tuned_thresholds_can_be_carried_by_the_classifier():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 32, 12)).astype(np.float32)
    y = (X[:, :, :5].mean(axis=1) > 0).astype(int)
    clf = CardioNetClassifier(
        filters=(4,), kernel_sizes=(3,), dense_units=8, epochs=1, random_state=0
    ).fit(X, y)
    opt = ThresholdOptimizer(clf, cv="prefit").fit(X, y)
    carried = clone(clf).set_params(threshold=opt.thresholds_)
    carried.fit(X, y)
    np.testing.assert_array_equal(carried.predict(X), opt.predict(X))


def test_pickle_round_trip(multilabel):
    X, y = multilabel
    opt = ThresholdOptimizer(logistic(), cv=3).fit(X, y)
    restored = pickle.loads(pickle.dumps(opt))
    np.testing.assert_array_equal(restored.thresholds_, opt.thresholds_)
    np.testing.assert_array_equal(restored.predict(X), opt.predict(X))


# -- composition --------------------------------------------------------------------------


def test_is_a_multilabel_classifier():
    opt = ThresholdOptimizer(logistic())
    assert is_classifier(opt)
    assert opt.__sklearn_tags__().classifier_tags.multi_label


def test_pipeline_in_grid_search_over_nested_parameters(multilabel):
    X, y = multilabel
    pipe = Pipeline(
        [("scale", StandardScaler()), ("clf", ThresholdOptimizer(logistic(), cv=3, random_state=0))]
    )
    search = GridSearchCV(
        pipe,
        {"clf__estimator__estimator__C": [0.1, 1.0], "clf__objective": ["f1", "mcc"]},
        cv=KFold(2),
        scoring=MACRO_F1,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.named_steps["clf"].thresholds_.shape == (4,)


def test_pipeline_with_cardionet_in_cross_val_score_and_grid_search():
    from cardionet_sk import PTBXLWindower

    rng = np.random.default_rng(0)
    X = rng.normal(size=(36, 64, 12)).astype(np.float32)
    y = (X[:, :, :5].mean(axis=1) > 0).astype(int)
    y[:3], y[3:6] = 1, 0
    tiny = CardioNetClassifier(
        filters=(4,), kernel_sizes=(3,), dense_units=8, epochs=1, random_state=0
    )
    pipe = Pipeline(
        [
            ("window", PTBXLWindower(32, 16)),
            ("clf", ThresholdOptimizer(tiny, cv=0.3, random_state=0)),
        ]
    )
    scores = cross_val_score(pipe, X, y, cv=KFold(2), scoring=MACRO_F1)
    assert scores.shape == (2,)
    search = GridSearchCV(
        pipe,
        {"clf__estimator__dense_units": [4, 8], "clf__objective": ["f1", "youden"]},
        cv=KFold(2),
        scoring=MACRO_F1,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4


# -- bad input ----------------------------------------------------------------------------


def test_estimator_without_predict_proba_is_rejected(multilabel):
    from sklearn.svm import LinearSVC

    X, y = multilabel
    with pytest.raises(
        ValueError, match="must be an object implementing 'fit' and 'predict_proba'"
    ):
        ThresholdOptimizer(LinearSVC()).fit(X, y[:, 0])


def test_y_that_is_not_an_indicator_matrix_is_rejected(multilabel):
    X, y = multilabel
    with pytest.raises(ValueError, match="0/1 indicator matrix"):
        ThresholdOptimizer(logistic()).fit(X, y * 2)


@pytest.mark.parametrize("value", [1.5, [0.5, -0.1, 0.5, 0.5]])
def test_min_sensitivity_outside_the_unit_interval_is_rejected(value, multilabel):
    X, y = multilabel
    with pytest.raises(ValueError, match="min_sensitivity"):
        ThresholdOptimizer(
            logistic(), objective="specificity_at_sensitivity", min_sensitivity=value
        ).fit(X, y)


def test_sensitivity_objective_without_a_minimum_is_rejected(multilabel):
    X, y = multilabel
    with pytest.raises(ValueError, match="needs min_sensitivity"):
        ThresholdOptimizer(logistic(), objective="specificity_at_sensitivity").fit(X, y)


def test_class_without_positives_keeps_one_half_with_a_warning():
    y = np.array([[0, 1], [0, 0], [0, 1], [0, 0]])
    proba = np.array([[0.1, 0.9], [0.2, 0.1], [0.3, 0.8], [0.4, 0.2]])
    with pytest.warns(UserWarning, match="Class 0 has no positive record in the tuning data"):
        opt = prefit(proba, y)
    assert opt.thresholds_[0] == 0.5
    assert np.isnan(opt.best_scores_[0])
    assert opt.best_scores_[1] == 1.0


# -- scikit-learn's common checks ---------------------------------------------------------

MULTICLASS = "the check trains on a multi-class y (0, 1, 2); labels here are 0/1 per class"
THRESHOLDED = (
    "predict applies the tuned thresholds, so it is not the 0.5 cut of predict_proba "
    "the check compares it with"
)
EXPECTED_FAILED_CHECKS = {
    "check_estimators_dtypes": MULTICLASS,
    "check_classifier_data_not_an_array": MULTICLASS,
    "check_fit2d_1feature": MULTICLASS,
    "check_classifiers_classes": "string and multi-class targets are not 0/1 labels",
    "check_classifiers_train": THRESHOLDED,
    "check_classifier_multioutput": THRESHOLDED,
    "check_classifiers_multilabel_output_format_predict_proba": (
        "probabilities pass through from k-NN, which gives exact 0 and 1; the check wants "
        "values strictly inside (0, 1) from an array"
    ),
}


# k-NN takes both binary and multi-label y natively, so both kinds of checks reach the
# meta-estimator itself.
CHECKED = ThresholdOptimizer(KNeighborsClassifier(), cv=2)


@parametrize_with_checks([CHECKED], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_scikit_learn_common_checks(estimator, check):
    check(estimator)


def test_common_checks_really_run():
    results = check_estimator(
        clone(CHECKED), on_fail=None, expected_failed_checks=EXPECTED_FAILED_CHECKS
    )
    passed = [r["check_name"] for r in results if r["status"] == "passed"]
    assert len(passed) >= 20, passed
    assert not [r for r in results if r["status"] == "failed"]
