"""Prior-shift adaptation: prevalences estimated from unlabelled records, probabilities and
thresholds moved by Bayes' rule (PriorShiftAdaptedClassifier and the functions under it)."""

import json
import pickle
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import MultiOutputClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cardionet_sk import (
    MultilabelVotingClassifier,
    PriorShiftAdaptedClassifier,
    adjust_probabilities,
    estimate_priors_bbse,
    estimate_priors_em,
)
from cardionet_sk._prior_shift import pretrained_priors
from cardionet_sk.hub import DEFAULT_MODEL, EMBEDDED_DIR, ConfigError, ModelConfig, list_pretrained

SOURCE = np.array([0.42, 0.25, 0.12])
TARGET = np.array([0.15, 0.05, 0.30])
SEPARATION = np.array([2.0, 2.5, 1.5])


class KnownPosterior(ClassifierMixin, BaseEstimator):
    """A fitted classifier whose probability of class k is the exact posterior, at the
    prevalences ``priors``, of the score ``X[:, k]`` (unit-variance normal scores, means
    +-separation / 2): calibrated by construction. ``as_list`` returns scikit-learn's
    other multi-label convention, a list of (n, 2) arrays."""

    def __init__(self, priors=tuple(SOURCE), separation=tuple(SEPARATION), as_list=False):
        self.priors = priors
        self.separation = separation
        self.as_list = as_list

    def fit(self, X, y=None):
        return self

    def __sklearn_is_fitted__(self):
        return True

    @property
    def classes_(self):
        if self.as_list:
            return [np.array([0, 1])] * len(self.priors)
        return np.array(["NORM", "MI", "HYP"][: len(self.priors)], dtype=object)

    def predict_proba(self, X):
        X = np.asarray(X, dtype=float)
        proba = expit(logit(np.asarray(self.priors)) + np.asarray(self.separation) * X)
        return [np.column_stack([1 - p, p]) for p in proba.T] if self.as_list else proba


def scores(n, prevalence, seed):
    """Labels drawn at ``prevalence`` and their scores (the X of KnownPosterior)."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, len(prevalence))) < prevalence).astype(int)
    return rng.normal(size=y.shape) + SEPARATION * (y - 0.5), y


def adapter(**params):
    """The adapter of KnownPosterior, whose source prevalences are SOURCE."""
    return PriorShiftAdaptedClassifier(
        FrozenEstimator(KnownPosterior()), **{"source_priors": SOURCE, **params}
    )


# -- estimating prevalences ---------------------------------------------------------------


def test_em_recovers_known_prevalences_of_calibrated_scores():
    X, y = scores(20_000, TARGET, seed=0)
    priors, n_iter, converged = estimate_priors_em(KnownPosterior().predict_proba(X), SOURCE)

    np.testing.assert_allclose(priors, y.mean(axis=0), atol=0.02)
    assert converged.all() and (n_iter >= 1).all()
    fitted = adapter().fit(X)
    np.testing.assert_allclose(fitted.target_priors_, priors)
    np.testing.assert_array_equal(fitted.n_iter_, n_iter)


def test_bbse_recovers_known_prevalences_and_reports_its_conditioning():
    X_source, y_source = scores(20_000, SOURCE, seed=1)
    X, y = scores(20_000, TARGET, seed=2)
    clf = KnownPosterior()
    priors, condition = estimate_priors_bbse(
        clf.predict_proba(X), y_source, clf.predict_proba(X_source)
    )
    np.testing.assert_allclose(priors, y.mean(axis=0), atol=0.02)
    assert (condition >= 1).all() and np.isfinite(condition).all()

    # The estimator: labelled source rows and unlabelled (-1) target rows in one X.
    fitted = adapter(method="bbse", threshold=0.5).fit(
        np.vstack([X_source, X]), np.vstack([y_source, -np.ones_like(y)])
    )
    np.testing.assert_allclose(fitted.target_priors_, priors)
    np.testing.assert_allclose(fitted.condition_numbers_, condition)
    assert fitted.n_target_samples_ == len(X) and not hasattr(fitted, "n_iter_")


def test_adjusted_probabilities_are_the_posteriors_at_the_target_prevalences():
    X, _ = scores(500, TARGET, seed=3)
    adjusted = adjust_probabilities(KnownPosterior().predict_proba(X), SOURCE, TARGET)
    np.testing.assert_allclose(adjusted, KnownPosterior(priors=TARGET).predict_proba(X))


def test_nothing_moves_when_the_target_prevalences_are_the_source_ones():
    X, _ = scores(20_000, SOURCE, seed=4)
    proba = KnownPosterior().predict_proba(X)
    np.testing.assert_allclose(adjust_probabilities(proba, SOURCE, SOURCE), proba)

    fitted = adapter().fit(X)
    np.testing.assert_allclose(fitted.target_priors_, SOURCE, atol=0.02)
    # Labelled records only: no target to adapt to, exactly the classifier.
    y = (proba > 0.5).astype(int)
    exact = adapter(source_priors=SOURCE).fit(X, y)
    np.testing.assert_array_equal(exact.target_priors_, SOURCE)
    np.testing.assert_allclose(exact.predict_proba(X), proba)


def test_shift_gate_adapts_shifted_classes_and_keeps_unshifted_ones():
    # Class 0 and 1 shifted, class 2 at its source prevalence.
    prevalence = np.array([0.15, 0.05, SOURCE[2]])
    X, y = scores(5_000, prevalence, seed=20)
    plain = adapter().fit(X)
    gated = adapter(shift_alpha=0.01).fit(X)

    assert (plain.shift_pvalues_ >= 0).all() and (plain.shift_pvalues_ <= 1).all()
    assert plain.shift_adapted_.all()
    np.testing.assert_array_equal(gated.shift_pvalues_, plain.shift_pvalues_)
    np.testing.assert_array_equal(gated.shift_adapted_, plain.shift_pvalues_ < 0.01)
    np.testing.assert_array_equal(gated.shift_adapted_, [True, True, False])
    np.testing.assert_array_equal(gated.target_priors_[:2], plain.target_priors_[:2])
    assert gated.target_priors_[2] == SOURCE[2] != plain.target_priors_[2]
    # The unadapted class keeps the classifier's probabilities and threshold.
    proba = KnownPosterior().predict_proba(X)
    np.testing.assert_allclose(gated.predict_proba(X)[:, 2], proba[:, 2])
    assert gated.thresholds_[2] == 0.5


def test_shift_gate_holds_its_level_without_a_shift():
    # Calibrated probabilities at the source prevalences: about alpha of the tests reject.
    rejected = [
        adapter(shift_alpha=0.1).fit(scores(2_000, SOURCE, seed=seed)[0]).shift_adapted_
        for seed in range(40)
    ]
    assert 0.02 <= np.mean(rejected) <= 0.22


def test_shift_gate_is_refused_with_bbse():
    X_source, y_source = scores(500, SOURCE, seed=21)
    X, y = scores(500, TARGET, seed=22)
    with pytest.raises(ValueError, match="shift_alpha"):
        adapter(method="bbse", shift_alpha=0.05).fit(
            np.vstack([X_source, X]), np.vstack([y_source, -np.ones_like(y)])
        )


def test_em_that_does_not_converge_warns_and_says_so():
    X, _ = scores(2_000, TARGET, seed=5)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        fitted = adapter(max_iter=1).fit(X)
    assert not fitted.converged_.any() and (fitted.n_iter_ == 1).all()


# -- thresholds ---------------------------------------------------------------------------


def test_likelihood_ratio_rule_moves_thresholds_and_keeps_every_label():
    X, _ = scores(3_000, TARGET, seed=6)
    threshold = np.array([0.5, 0.35, 0.3])
    fitted = adapter(threshold=threshold).fit(X)

    np.testing.assert_allclose(
        fitted.thresholds_,
        adjust_probabilities(threshold[None], SOURCE, fitted.target_priors_)[0],
    )
    own_labels = (KnownPosterior().predict_proba(X) >= threshold).astype(int)
    np.testing.assert_array_equal(fitted.predict(X), own_labels)
    np.testing.assert_array_equal(fitted.predict_proba(X) >= fitted.thresholds_, own_labels)


def test_probability_rule_keeps_the_posterior_threshold_and_moves_the_labels():
    X, _ = scores(3_000, TARGET, seed=7)
    fitted = adapter(threshold=0.4, threshold_rule="probability").fit(X)

    np.testing.assert_array_equal(fitted.thresholds_, [0.4, 0.4, 0.4])
    np.testing.assert_array_equal(fitted.predict(X), fitted.predict_proba(X) >= 0.4)
    # Rarer classes (NORM, MI) get fewer labels than the classifier gives; commoner
    # ones (HYP) more.
    own = (KnownPosterior().predict_proba(X) >= 0.4).sum(axis=0)
    assert list(np.sign(fitted.predict(X).sum(axis=0) - own)) == [-1, -1, 1]


def test_auto_threshold_is_the_wrapped_classifiers_own():
    X, _ = scores(500, TARGET, seed=8)
    voting = MultilabelVotingClassifier(
        [("known", FrozenEstimator(KnownPosterior()))], threshold=[0.2, 0.3, 0.4]
    ).fit(X[:10], np.tile([[1, 0, 1], [0, 1, 0]], (5, 1)))
    fitted = PriorShiftAdaptedClassifier(
        FrozenEstimator(voting), source_priors=SOURCE, threshold_rule="probability"
    ).fit(X)
    np.testing.assert_array_equal(fitted.thresholds_, [0.2, 0.3, 0.4])


# -- errors -------------------------------------------------------------------------------


def test_too_few_target_records_are_refused():
    X, _ = scores(99, TARGET, seed=9)
    with pytest.raises(ValueError, match="min_target_samples=100 .*got 99"):
        adapter().fit(X)
    assert adapter(min_target_samples=50).fit(X).n_target_samples_ == 99


def test_classifier_without_calibration_maps_is_refused():
    class Uncalibrated(KnownPosterior):
        def _calibration_maps(self):  # as a CardioNetClassifier without maps
            return None

    X, _ = scores(200, TARGET, seed=10)
    with pytest.raises(ValueError, match="applies no calibration maps"):
        PriorShiftAdaptedClassifier(FrozenEstimator(Uncalibrated()), source_priors=SOURCE).fit(X)


def test_bbse_without_labelled_source_records_is_refused():
    X, _ = scores(200, TARGET, seed=11)
    with pytest.raises(ValueError, match="method='bbse' needs labelled source records"):
        adapter(method="bbse").fit(X)


def test_auto_source_priors_without_a_saved_config_are_refused():
    X, _ = scores(200, TARGET, seed=12)
    with pytest.raises(ValueError, match="KnownPosterior.*found no prevalences.*Pass source"):
        adapter(source_priors="auto").fit(X)
    with pytest.raises(ValueError, match="source_priors must hold prevalences strictly"):
        adapter(source_priors=[0.4, 0.0, 0.1]).fit(X)


def test_rows_mixing_labels_and_unlabelled_marks_are_refused():
    X, y = scores(200, TARGET, seed=13)
    y[0, 1] = -1
    with pytest.raises(ValueError, match="some rows mix both"):
        adapter(source_priors=SOURCE).fit(X, y)


def test_unfitted_estimator_without_labelled_rows_is_refused():
    X, _ = scores(200, TARGET, seed=14)
    with pytest.raises(ValueError, match="requires y to be passed"):
        PriorShiftAdaptedClassifier(OneVsRestClassifier(LogisticRegression())).fit(X)


# -- scikit-learn integration --------------------------------------------------------------


def source_and_target(seed=0):
    """A multi-label problem; the target keeps 1 in 4 positives of class 0."""
    X, y = make_multilabel_classification(n_samples=3_000, n_classes=3, random_state=seed)
    source, target = np.arange(1_500), np.arange(1_500, 3_000)
    keep = target[(y[target, 0] == 0) | (np.arange(len(target)) % 4 == 0)]
    return X[source], y[source], X[keep], y[keep]


def test_unfitted_estimator_is_fitted_on_the_labelled_rows_which_give_the_source_priors():
    X_source, y_source, X_target, _ = source_and_target()
    fitted = PriorShiftAdaptedClassifier(OneVsRestClassifier(LogisticRegression())).fit(
        np.vstack([X_source, X_target]), np.vstack([y_source, -np.ones((len(X_target), 3))])
    )
    np.testing.assert_allclose(fitted.source_priors_, y_source.mean(axis=0))
    assert fitted.target_priors_[0] < fitted.source_priors_[0] - 0.1
    assert fitted.estimator_ is not fitted.estimator and fitted.n_features_in_ == 20


def test_both_predict_proba_conventions_agree():
    X, _ = scores(1_000, TARGET, seed=15)
    as_array = adapter(source_priors=SOURCE, threshold=0.4).fit(X)
    as_list = PriorShiftAdaptedClassifier(
        FrozenEstimator(KnownPosterior(as_list=True)), source_priors=SOURCE, threshold=0.4
    ).fit(X)
    np.testing.assert_allclose(as_list.target_priors_, as_array.target_priors_)
    np.testing.assert_allclose(as_list.predict_proba(X), as_array.predict_proba(X))
    np.testing.assert_array_equal(as_list.predict(X), as_array.predict(X))
    np.testing.assert_array_equal(as_list.classes_, [0, 1, 2])

    # And scikit-learn's own: one-vs-rest (an array) and multi-output (a list).
    X_source, y_source, X_target, _ = source_and_target()
    ovr = OneVsRestClassifier(LogisticRegression()).fit(X_source, y_source)
    multi = MultiOutputClassifier(LogisticRegression()).fit(X_source, y_source)
    settings = {"source_priors": y_source.mean(axis=0), "threshold": 0.5}
    a = PriorShiftAdaptedClassifier(FrozenEstimator(ovr), **settings).fit(X_target)
    b = PriorShiftAdaptedClassifier(FrozenEstimator(multi), **settings).fit(X_target)
    np.testing.assert_allclose(a.target_priors_, b.target_priors_, atol=1e-6)
    np.testing.assert_allclose(a.predict_proba(X_target), b.predict_proba(X_target), atol=1e-6)


def test_binary_target_gives_two_columns_and_a_label_vector():
    X, y = scores(1_000, TARGET, seed=16)
    fitted = PriorShiftAdaptedClassifier(
        FrozenEstimator(KnownPosterior(priors=(0.42,), separation=(2.0,))),
        source_priors=[0.42],
        threshold=0.5,
    ).fit(X[:, :1], np.concatenate([y[:200, 0], -np.ones(800, dtype=int)]))
    assert fitted.predict_proba(X[:, :1]).shape == (1_000, 2)
    assert fitted.predict(X[:, :1]).shape == (1_000,)
    np.testing.assert_array_equal(fitted.classes_, [0, 1])


def test_works_in_a_pipeline_and_around_one():
    X_source, y_source, X_target, y_target = source_and_target()
    settings = {"source_priors": y_source.mean(axis=0), "threshold": 0.5}
    inner = make_pipeline(StandardScaler(), OneVsRestClassifier(LogisticRegression()))
    around = PriorShiftAdaptedClassifier(FrozenEstimator(inner.fit(X_source, y_source)), **settings)
    outer = make_pipeline(
        StandardScaler(),
        PriorShiftAdaptedClassifier(OneVsRestClassifier(LogisticRegression()), **settings),
    )
    # One X: labelled source rows and unlabelled target rows go through the scaler alike.
    outer.fit(np.vstack([X_source, X_target]), np.vstack([y_source, -np.ones_like(y_target)]))
    around.fit(X_target)
    assert around.predict_proba(X_target).shape == outer.predict_proba(X_target).shape
    true = y_target.mean(axis=0)[0]
    for fitted in (around, outer[-1]):
        assert abs(fitted.target_priors_[0] - true) < abs(fitted.source_priors_[0] - true)


def test_pickles():
    X, _ = scores(500, TARGET, seed=17)
    fitted = adapter(source_priors=SOURCE).fit(X)
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(loaded.thresholds_, fitted.thresholds_)


def test_refit_with_another_method_leaves_no_stale_diagnostic():
    X_source, y_source = scores(2_000, SOURCE, seed=18)
    X, y = scores(2_000, TARGET, seed=19)
    fitted = adapter(source_priors=SOURCE).fit(X)
    fitted.set_params(method="bbse").fit(
        np.vstack([X_source, X]), np.vstack([y_source, -np.ones_like(y)])
    )
    assert hasattr(fitted, "condition_numbers_") and not hasattr(fitted, "converged_")
    assert not hasattr(fitted, "shift_pvalues_")


# -- saved models -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_model():
    from cardionet_sk import CardioNetClassifier

    return CardioNetClassifier.from_pretrained()


def test_source_priors_are_read_from_the_embedded_model_config(default_model):
    from cardionet_sk.datasets import load_sample

    X = load_sample().data
    fitted = PriorShiftAdaptedClassifier(FrozenEstimator(default_model), min_target_samples=50)
    fitted.fit(X)
    config = json.loads((EMBEDDED_DIR / DEFAULT_MODEL / "config.json").read_text())
    np.testing.assert_array_equal(fitted.source_priors_, config["calibration_priors"])
    np.testing.assert_allclose(
        fitted.thresholds_,
        adjust_probabilities(
            np.atleast_2d(default_model.threshold), fitted.source_priors_, fitted.target_priors_
        )[0],
    )
    np.testing.assert_array_equal(fitted.predict(X), default_model.predict(X))
    assert list(fitted.classes_) == ["NORM", "MI", "STTC", "CD", "HYP"]


def test_embedded_model_without_calibration_maps_is_refused(default_model):
    default_model.set_params(calibration=False)
    try:
        with pytest.raises(ValueError, match="applies no calibration maps"):
            PriorShiftAdaptedClassifier(FrozenEstimator(default_model)).fit(np.zeros((200, 1)))
    finally:
        default_model.set_params(calibration=True)


def test_ensemble_priors_are_the_weighted_mean_of_its_members():
    class Saved(KnownPosterior):
        def fit(self, X, y=None):
            self.pretrained_config_ = SimpleNamespace(calibration_priors=list(self.priors))
            return self

    X, y = scores(30, TARGET, seed=20)
    members = [Saved(priors=(0.4, 0.2, 0.1)).fit(X), Saved(priors=(0.6, 0.4, 0.3)).fit(X)]
    voting = MultilabelVotingClassifier(
        [("a", FrozenEstimator(members[0])), ("b", FrozenEstimator(members[1]))], weights=[3, 1]
    ).fit(X, y)
    np.testing.assert_allclose(pretrained_priors(FrozenEstimator(voting)), [0.45, 0.25, 0.15])


def test_embedded_superdiagnostic_models_carry_their_calibration_priors():
    for model in list_pretrained(details=True):
        if model["task"] != "superdiagnostic" or model["architecture"] == "ensemble":
            continue
        config = ModelConfig.read(EMBEDDED_DIR / model["name"], architectures=None)
        assert config.calibration is not None
        assert len(config.calibration_priors) == 5, model["name"]
        assert 0.35 < config.calibration_priors[0] < 0.5  # NORM, about 42 % in PTB-XL


@pytest.mark.parametrize(
    "priors", [[0.4, 0.2, 0.2, 0.2], [0.4, 0.2, 0.2, 0.2, 1.0], [0.4, 0.2, 0.2, 0.2, "x"], 0.3]
)
def test_calibration_priors_field_is_validated_naming_file_and_field(priors):
    path = EMBEDDED_DIR / DEFAULT_MODEL / "config.json"
    data = json.loads(path.read_text())
    ModelConfig.from_dict({**data, "calibration_priors": None}, source=str(path))
    del data["calibration_priors"]
    ModelConfig.from_dict(data, source=str(path))  # older folders have none
    with pytest.raises(ConfigError, match=rf"{path}: field 'calibration_priors'"):
        ModelConfig.from_dict({**data, "calibration_priors": priors}, source=str(path))
