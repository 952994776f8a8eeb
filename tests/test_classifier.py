"""CardioNetClassifier: the network, multi-label behaviour, and the scikit-learn contract."""

import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import joblib
import keras
import numpy as np
import pandas as pd
import pytest
from _helpers import TINY
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.metrics import make_scorer, roc_auc_score
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    KFold,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from cardionet_sk import CardioNetClassifier
from cardionet_sk._keras.architectures import build_network

# A network small enough that a fit takes a second on two CPU cores.

MACRO_AUC = make_scorer(roc_auc_score, average="macro", response_method="predict_proba")


def make_ecgs(n_records=24, n_timesteps=64, n_leads=12, n_classes=5, seed=0):
    """Random records whose labels depend on the signal, so a network can learn them."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_records, n_timesteps, n_leads)).astype(np.float32)
    y = (X[:, :, :n_classes].mean(axis=1) > 0).astype(int)
    # Every class needs both values in every fold of the tests' searches.
    y[:2] = [1, 0] * (n_classes // 2) + [1] * (n_classes % 2)
    y[2:4] = 1 - y[:2]
    return X, y


# -- the published network ----------------------------------------------------------------


def test_default_network_has_the_published_parameter_counts():
    model = build_network("cardionet", (1000, 12), 5)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 4_135_717
    assert model.count_params() == 4_136_165


def test_default_network_layers_follow_the_published_order():
    model = build_network("cardionet", (1000, 12), 5)
    kinds = [type(layer).__name__ for layer in model.layers[1:]]
    assert kinds == (
        ["Conv1D", "BatchNormalization", "MaxPooling1D"] * 3
        + ["Flatten", "Dense", "Dropout", "Dense"]
    )
    assert [model.get_layer(f"conv{i}").kernel_size[0] for i in (1, 2, 3)] == [7, 5, 3]
    assert model.get_layer("dropout").rate == 0.5
    assert model.get_layer("probabilities").activation.__name__ == "sigmoid"


def test_fitted_default_classifier_builds_the_published_network():
    X, y = make_ecgs(n_records=8, n_timesteps=1000)
    clf = CardioNetClassifier(epochs=1, validation_split=0, random_state=0).fit(X, y)
    assert clf.model_.count_params() == 4_136_165


def test_unknown_architecture_hyperparameter_is_rejected():
    with pytest.raises(ValueError, match="does not take"):
        build_network("cardionet", (100, 12), 5, depth=3)


def test_mismatched_filters_and_kernel_sizes_are_rejected():
    X, y = make_ecgs()
    with pytest.raises(ValueError, match="same length"):
        CardioNetClassifier(**{**TINY, "model__kernel_sizes": (3, 3)}).fit(X, y)


def test_the_constructor_has_at_most_26_parameters_each_in_the_docstring():
    import inspect

    from numpydoc.docscrape import ClassDoc

    names = [
        name
        for name, p in inspect.signature(CardioNetClassifier).parameters.items()
        if p.kind is not p.VAR_KEYWORD
    ]
    assert len(names) <= 26, names
    documented = {
        part.strip()
        for item in ClassDoc(CardioNetClassifier)["Parameters"]
        for part in item.name.split(",")
    }
    assert set(names) <= documented, sorted(set(names) - documented)
    params = CardioNetClassifier().get_params()
    assert params["batch_size"] == 32 and params["validation_split"] == 0.2
    assert params["optimizer"] == "adam" and params["class_weight"] == "balanced"
    assert params["calibration"] is True


@pytest.mark.parametrize(
    ("old", "new", "value"),
    [
        ("filters", "model__filters", (6,)),
        ("dense_units", "model__dense_units", 9),
        ("dropout", "model__dropout", 0.25),
        ("kernel_sizes", "model__kernel_sizes", (5,)),
        ("callbacks", "fit__callbacks", []),
    ],
)
def test_a_parameter_routed_since_0_5_still_works_by_its_old_name_with_a_future_warning(
    old, new, value
):
    X, y = make_ecgs()
    tiny = {k: v for k, v in TINY.items() if k.removeprefix("model__") != old}
    with pytest.warns(FutureWarning, match=f"{old}=.*pass {new}="):
        by_old = CardioNetClassifier(**tiny, **{old: value}).fit(X, y)
    by_new = CardioNetClassifier(**tiny, **{new: value}).fit(X, y)
    np.testing.assert_allclose(by_old.predict_proba(X), by_new.predict_proba(X), rtol=1e-6)


def test_a_misspelt_plain_parameter_is_an_error_naming_the_closest_one():
    X, y = make_ecgs()
    with pytest.raises(ValueError, match="Unknown parameter 'learnig_rate'.*learning_rate"):
        CardioNetClassifier(**TINY, learnig_rate=0.1).fit(X, y)


def test_architecture_hyperparameters_change_the_network():
    X, y = make_ecgs()
    clf = CardioNetClassifier(
        **{
            **TINY,
            "model__filters": (6, 7),
            "model__kernel_sizes": (5, 3),
            "model__dense_units": 9,
            "model__dropout": 0.25,
        }
    ).fit(X, y)
    assert clf.model_.get_layer("conv1").filters == 6
    assert clf.model_.get_layer("conv2").kernel_size == (3,)
    assert clf.model_.get_layer("dense").units == 9
    assert clf.model_.get_layer("dropout").rate == 0.25


def test_learning_rate_and_routed_optimizer_parameters_reach_the_optimizer():
    X, y = make_ecgs()
    clf = CardioNetClassifier(**TINY, learning_rate=0.0123, optimizer__beta_1=0.8).fit(X, y)
    assert clf.model_.optimizer.__class__.__name__ == "Adam"
    assert np.isclose(float(clf.model_.optimizer.learning_rate), 0.0123)
    assert np.isclose(float(clf.model_.optimizer.beta_1), 0.8)
    assert clf.get_params()["optimizer__beta_1"] == 0.8


# -- multi-label behaviour ----------------------------------------------------------------


def test_predict_proba_has_one_probability_per_record_and_class():
    X, y = make_ecgs()
    clf = CardioNetClassifier(**TINY).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (24, 5)
    assert ((proba >= 0) & (proba <= 1)).all()


def test_unnamed_classes_are_numbered_not_guessed():
    # Five columns are not necessarily the five PTB-XL superclasses.
    X, y = make_ecgs()
    clf = CardioNetClassifier(**TINY).fit(X, y)
    assert clf.classes_.tolist() == [0, 1, 2, 3, 4]


def test_class_names_come_from_the_data():
    X, y = make_ecgs()
    names = ["NORM", "MI", "STTC", "CD", "HYP"]
    assert CardioNetClassifier(**TINY, class_names=names).fit(X, y).classes_.tolist() == names
    frame = pd.DataFrame(y, columns=names)
    assert CardioNetClassifier(**TINY).fit(X, frame).classes_.tolist() == names
    with pytest.raises(ValueError, match="class_names has 2 names, but y has 5 columns"):
        CardioNetClassifier(**TINY, class_names=["A", "B"]).fit(X, y)


def test_dataframe_columns_become_classes():
    X, y = make_ecgs(n_classes=3)
    frame = pd.DataFrame(y, columns=["a", "b", "c"])
    clf = CardioNetClassifier(**TINY).fit(X, frame)
    assert clf.classes_.tolist() == ["a", "b", "c"]


def test_classes_default_to_indices_when_not_five():
    X, y = make_ecgs(n_classes=3)
    assert CardioNetClassifier(**TINY).fit(X, y).classes_.tolist() == [0, 1, 2]


def test_predict_applies_per_class_thresholds():
    X, y = make_ecgs()
    clf = CardioNetClassifier(**TINY).fit(X, y)
    proba = clf.predict_proba(X)
    threshold = np.array([0.0, 1.0, 0.3, 0.5, 0.7])
    clf.set_params(threshold=threshold)
    np.testing.assert_array_equal(clf.predict(X), (proba >= threshold).astype(int))
    assert clf.predict(X)[:, 0].all() and not clf.predict(X)[:, 1][proba[:, 1] < 1].any()


def test_one_dimensional_binary_y_gives_a_binary_classifier():
    X, y = make_ecgs()
    clf = CardioNetClassifier(**TINY).fit(X, y[:, 0])
    proba = clf.predict_proba(X)
    assert proba.shape == (24, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.predict(X).shape == (24,)
    assert clf.classes_.tolist() == [0, 1]


@pytest.mark.parametrize("aggregation", ["mean", "max"])
def test_windowed_input_aggregates_window_probabilities_per_record(aggregation):
    X, y = make_ecgs(n_timesteps=64)
    windows = X.reshape(24, 4, 16, 12)
    clf = CardioNetClassifier(**TINY, window_aggregation=aggregation).fit(windows, y)
    per_window = clf.predict_proba(windows.reshape(96, 16, 12)).reshape(24, 4, 5)
    expected = per_window.max(axis=1) if aggregation == "max" else per_window.mean(axis=1)
    np.testing.assert_allclose(clf.predict_proba(windows), expected, rtol=1e-6)


def test_windowed_fit_trains_every_window_with_its_records_labels():
    X, y = make_ecgs(n_timesteps=64)
    windows = X.reshape(24, 4, 16, 12)
    clf = CardioNetClassifier(**TINY, validation_split=0, batch_size=8).fit(windows, y)
    # 96 windows in batches of 8: 12 optimizer steps in the single epoch.
    assert int(clf.model_.optimizer.iterations) == 12


def test_overlapping_windows_are_streamed_not_materialised(monkeypatch):
    """Windows reach Keras batch by batch: no array of all windows is ever built."""
    from numpy.lib.stride_tricks import sliding_window_view

    from cardionet_sk._keras.batches import TrainingBatches

    X, y = make_ecgs(n_timesteps=64)
    windows = sliding_window_view(X, 16, axis=1)[:, ::4].transpose(0, 1, 3, 2)
    largest = []
    original = TrainingBatches.__getitem__

    def spy(self, index):
        assert np.shares_memory(self.X, X)
        batch = original(self, index)
        largest.append(len(batch[0]))
        return batch

    monkeypatch.setattr(TrainingBatches, "__getitem__", spy)
    CardioNetClassifier(**TINY, batch_size=8).fit(windows, y)
    assert max(largest) == 8


def test_crop_size_trains_on_random_crops_and_builds_for_that_length():
    X, y = make_ecgs(n_timesteps=64)
    clf = CardioNetClassifier(**TINY, crop_size=16, validation_split=0, batch_size=8).fit(X, y)
    assert clf.model_.input_shape == (None, 16, 12)
    # One crop per record per epoch: 24 records in batches of 8.
    assert int(clf.model_.optimizer.iterations) == 3
    windows = X.reshape(24, 4, 16, 12)
    assert clf.predict_proba(windows).shape == (24, 5)


def test_records_longer_than_the_crop_are_predicted_on_overlapping_crops():
    X, y = make_ecgs(n_timesteps=64)
    clf = CardioNetClassifier(**TINY, crop_size=16, window_aggregation="max").fit(X, y)
    # Default stride crop_size // 2: crops start at 0, 8, ..., 48.
    crops = np.stack([X[:, s : s + 16] for s in range(0, 49, 8)], axis=1)
    np.testing.assert_allclose(clf.predict_proba(X), clf.predict_proba(crops), rtol=1e-6)
    clf.set_params(crop_stride=16)
    np.testing.assert_allclose(
        clf.predict_proba(X), clf.predict_proba(X.reshape(24, 4, 16, 12)), rtol=1e-6
    )


def test_crop_longer_than_the_records_is_rejected():
    X, y = make_ecgs(n_timesteps=64)
    with pytest.raises(ValueError, match="crop_size=80 is longer than the 64 timesteps"):
        CardioNetClassifier(**TINY, crop_size=80).fit(X, y)


def test_training_batches_crop_shift_and_standardise_reproducibly():
    from cardionet_sk._keras.batches import TrainingBatches

    X = np.arange(2 * 1 * 10 * 1, dtype=np.float32).reshape(2, 1, 10, 1)
    y = np.array([[1], [0]])
    kwargs = {"batch_size": 2, "mean": np.zeros(1), "scale": np.full(1, 2.0), "seed": 3}
    batches = TrainingBatches(X, y, None, np.array([0, 1]), crop_size=4, max_shift=1, **kwargs)
    first, targets = batches[0]
    assert first.shape == (2, 4, 1) and first.dtype == np.float32
    again, _ = TrainingBatches(X, y, None, np.array([0, 1]), crop_size=4, max_shift=1, **kwargs)[0]
    np.testing.assert_array_equal(first, again)
    for crop, target in zip(first[:, :, 0] * 2, targets[:, 0]):
        record = X[1 - int(target), 0, :, 0]
        # A circular shift of a contiguous crop of the record, halved by the scale.
        assert any(
            np.array_equal(np.roll(crop, k), record[s : s + 4])
            for k in (-1, 0, 1)
            for s in range(7)
        )
    batches.on_epoch_end()
    assert not np.array_equal(batches[0][0], first)


def test_max_shift_changes_training_but_not_prediction_shape():
    X, y = make_ecgs()
    plain = CardioNetClassifier(**TINY).fit(X, y)
    shifted = CardioNetClassifier(**TINY, max_shift=10).fit(X, y)
    assert plain.history_["loss"] != shifted.history_["loss"]
    assert shifted.predict_proba(X).shape == (24, 5)


def test_test_time_shifts_average_the_probabilities_of_rolled_records():
    X, y = make_ecgs()
    clf = CardioNetClassifier(**TINY).fit(X, y)
    once = [clf.predict_proba(np.roll(X, s, axis=1)) for s in (0, 5, -20)]
    averaged = clf.set_params(test_time_shifts=[0, 5, -20]).predict_proba(X)
    np.testing.assert_allclose(averaged, np.mean(once, axis=0), atol=1e-6)
    assert not np.allclose(averaged, once[0])


@pytest.mark.parametrize("shifts", [[], [0.5, 1], [[0, 1]], "0"])
def test_malformed_test_time_shifts_are_rejected(shifts):
    X, y = make_ecgs()
    clf = CardioNetClassifier(**TINY).fit(X, y).set_params(test_time_shifts=shifts)
    with pytest.raises(ValueError, match="test_time_shifts"):
        clf.predict_proba(X)


def test_validation_split_holds_out_records_for_early_stopping():
    X, y = make_ecgs(n_records=40)
    with_validation = CardioNetClassifier(**{**TINY, "epochs": 2}, batch_size=8).fit(X, y)
    assert set(with_validation.history_) == {"loss", "val_loss"}
    # 40 records, 8 held out: 32 train in batches of 8 -> 4 steps an epoch.
    assert int(with_validation.model_.optimizer.iterations) == 8
    without = CardioNetClassifier(**TINY, validation_split=0).fit(X, y)
    assert set(without.history_) == {"loss"}


def test_weight_averaging_validates_and_keeps_the_averaged_weights():
    # ema_momentum=1 holds the average at the initial weights: the averaged network is then
    # the same at every epoch, and validation must score it, not the trained one.
    X, y = make_ecgs(n_records=40)
    params = {**TINY, "epochs": 3, "batch_size": 8, "learning_rate": 0.05}
    params |= {"monitor": "val_macro_auc", "patience": 3}
    averaged = CardioNetClassifier(
        **params, optimizer__use_ema=True, optimizer__ema_momentum=1.0
    ).fit(X, y)
    scores = averaged.history_["val_macro_auc"]
    assert scores == [scores[0]] * 3
    trained = CardioNetClassifier(**params).fit(X, y)
    assert len(set(trained.history_["val_macro_auc"])) > 1

    # The network kept is the one validated.
    held_out = averaged.validation_records_
    proba = averaged.predict_proba(X[held_out])
    scored = [k for k in range(5) if 0 < y[held_out, k].sum() < len(held_out)]
    auc = np.mean([roc_auc_score(y[held_out, k], proba[:, k]) for k in scored])
    assert auc == pytest.approx(scores[0])


def test_groups_keep_every_patient_on_one_side_of_the_validation_split():
    X, y = make_ecgs(n_records=40)
    patients = np.repeat(np.arange(10), 4)
    clf = CardioNetClassifier(**TINY).fit(X, y, groups=patients)
    held_out = clf.validation_records_
    trained = np.setdiff1d(np.arange(40), held_out)
    assert not np.intersect1d(patients[held_out], patients[trained]).size
    # 20 % of 40 records is 8: exactly two whole patients.
    assert len(held_out) == 8


def test_groups_cut_at_the_end_of_the_patient_the_fraction_falls_in():
    X, y = make_ecgs(n_records=40)
    patients = np.repeat(np.arange(14), 3)[:40]  # 13 patients of 3 records and one of 1
    held_out = CardioNetClassifier(**TINY).fit(X, y, groups=patients).validation_records_
    assert len(held_out) >= 8
    assert set(np.unique(patients[held_out], return_counts=True)[1]) <= {1, 3}
    assert not np.isin(patients[held_out], np.delete(patients, held_out)).any()


def test_one_group_leaves_no_records_to_validate_on():
    X, y = make_ecgs()
    clf = CardioNetClassifier(**TINY).fit(X, y, groups=np.zeros(24))
    assert clf.validation_records_.size == 0
    assert set(clf.history_) == {"loss"}


def test_groups_of_the_wrong_length_are_rejected():
    X, y = make_ecgs()
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        CardioNetClassifier(**TINY).fit(X, y, groups=np.arange(23))


def test_groups_reach_fit_through_a_pipeline():
    X, y = make_ecgs(n_records=40)
    patients = np.repeat(np.arange(10), 4)
    pipe = Pipeline([("flat", FunctionTransformer()), ("clf", CardioNetClassifier(**TINY))])
    held_out = pipe.fit(X, y, clf__groups=patients)["clf"].validation_records_
    assert not np.isin(patients[held_out], np.delete(patients, held_out)).any()


def test_cross_validation_passes_each_fit_the_groups_of_its_training_records():
    X, y = make_ecgs(n_records=40)
    patients = np.repeat(np.arange(10), 4)
    results = cross_validate(
        CardioNetClassifier(**TINY),
        X,
        y,
        groups=patients,
        params={"groups": patients},
        cv=GroupKFold(2),
        return_estimator=True,
        return_indices=True,
    )
    for clf, train in zip(results["estimator"], results["indices"]["train"]):
        held_out = train[clf.validation_records_]
        assert len(held_out) == 4  # a fifth of 20 training records: one patient
        assert not np.isin(patients[held_out], patients[np.setdiff1d(train, held_out)]).any()


def test_early_stopping_restores_the_best_epoch():
    X, y = make_ecgs(n_records=40)
    # A learning rate this large makes validation loss worsen after the first epochs.
    clf = CardioNetClassifier(**{**TINY, "epochs": 30}, patience=2, learning_rate=1.0).fit(X, y)
    val_loss = clf.history_["val_loss"]
    assert len(val_loss) < 30
    best = int(np.argmin(val_loss))
    assert len(val_loss) == best + 1 + 2


def test_balanced_class_weight_changes_the_loss():
    X, y = make_ecgs()
    y[:, 4] = 0
    y[:3, 4] = 1
    weighted = CardioNetClassifier(**TINY).fit(X, y)
    plain = CardioNetClassifier(**TINY, class_weight=None).fit(X, y)
    assert weighted.model_.loss.positive_weights[4] > 1.0
    assert plain.model_.loss.positive_weights == [1.0] * 5
    assert weighted.history_["loss"][0] != plain.history_["loss"][0]


def test_standardize_learns_per_lead_statistics_from_training_records():
    X, y = make_ecgs()
    X = X * np.arange(1, 13) + 5.0
    clf = CardioNetClassifier(**TINY, validation_split=0).fit(X, y)
    np.testing.assert_allclose(clf.mean_, X.mean(axis=(0, 1)), rtol=1e-4)
    np.testing.assert_allclose(clf.scale_, X.std(axis=(0, 1)), rtol=1e-4)
    raw = CardioNetClassifier(**TINY, standardize=False).fit(X, y)
    np.testing.assert_array_equal(raw.scale_, np.ones(12))


# -- determinism and persistence ----------------------------------------------------------


def test_same_random_state_gives_identical_predictions():
    X, y = make_ecgs()
    first = CardioNetClassifier(**{**TINY, "epochs": 2}).fit(X, y).predict_proba(X)
    second = CardioNetClassifier(**{**TINY, "epochs": 2}).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    other = CardioNetClassifier(**{**TINY, "epochs": 2, "random_state": 1}).fit(X, y)
    assert not np.array_equal(first, other.predict_proba(X))


class _Rendezvous(keras.callbacks.Callback):
    """Makes two fits in two threads wait for each other at every batch: they interleave."""

    def __init__(self, barrier):
        super().__init__()
        self.barrier = barrier

    def on_train_batch_begin(self, batch, logs=None):
        self.barrier.wait(timeout=60)


def test_seeded_fits_interleaved_in_threads_match_sequential_fits():
    # No global random state: a fit next door (a Dask worker's other task) changes nothing.
    X, y = make_ecgs()
    settings = [{**TINY, "epochs": 2, "random_state": seed} for seed in (1, 2)]
    sequential = [CardioNetClassifier(**s).fit(X, y) for s in settings]
    barrier = threading.Barrier(2)

    def fit(s):
        return CardioNetClassifier(**s, fit__callbacks=[_Rendezvous(barrier)]).fit(X, y)

    with ThreadPoolExecutor(2) as pool:
        threaded = list(pool.map(fit, settings))
    for alone, together in zip(sequential, threaded):
        for a, b in zip(alone.model_.get_weights(), together.model_.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_pickle_round_trip_keeps_predictions():
    X, y = make_ecgs()
    clf = CardioNetClassifier(**TINY).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_joblib_round_trip_keeps_predictions(tmp_path):
    X, y = make_ecgs()
    clf = CardioNetClassifier(**TINY).fit(X, y)
    joblib.dump(clf, tmp_path / "clf.joblib")
    restored = joblib.load(tmp_path / "clf.joblib")
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_clone_gives_an_unfitted_copy_with_the_same_parameters():
    clf = CardioNetClassifier(**TINY, optimizer__beta_1=0.8)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    X, y = make_ecgs()
    clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clone(clf).predict(X)


def test_nested_parameters_are_reachable_through_a_pipeline():
    pipe = Pipeline([("id", FunctionTransformer()), ("clf", CardioNetClassifier(**TINY))])
    pipe.set_params(clf__model__dropout=0.3, clf__optimizer__beta_1=0.7)
    params = pipe.get_params()
    assert params["clf__model__dropout"] == 0.3
    assert params["clf__optimizer__beta_1"] == 0.7


# -- scikit-learn tools -------------------------------------------------------------------


def test_is_a_multilabel_classifier_for_scikit_learn():
    clf = CardioNetClassifier()
    assert is_classifier(clf)
    tags = clf.__sklearn_tags__()
    assert tags.estimator_type == "classifier"
    assert tags.classifier_tags.multi_label


def test_cross_val_score_with_macro_auc():
    X, y = make_ecgs(n_records=30)
    scores = cross_val_score(CardioNetClassifier(**TINY), X, y, cv=KFold(3), scoring=MACRO_AUC)
    assert scores.shape == (3,)
    assert np.isfinite(scores).all()


def test_grid_search_tunes_architecture_and_training_parameters():
    X, y = make_ecgs(n_records=30)
    search = GridSearchCV(
        CardioNetClassifier(**TINY),
        {"model__dense_units": [4, 8], "learning_rate": [1e-3, 1e-2]},
        cv=KFold(2),
        scoring=MACRO_AUC,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.model_.get_layer("dense").units in (4, 8)


# -- bad input ----------------------------------------------------------------------------


def test_predict_before_fit_raises_not_fitted():
    X, _ = make_ecgs()
    with pytest.raises(NotFittedError):
        CardioNetClassifier().predict_proba(X)


@pytest.mark.parametrize("shape", [(24,), (2, 3, 4, 5, 6)])
def test_wrong_number_of_dimensions_is_rejected(shape):
    _, y = make_ecgs()
    with pytest.raises(ValueError, match=r"-D array shaped .*got a \d-D array"):
        CardioNetClassifier(**TINY).fit(np.zeros(shape), y[: shape[0]])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_signal_is_rejected(bad):
    X, y = make_ecgs()
    X[3, 10, 2] = bad
    with pytest.raises(ValueError, match=r"NaN or infinity \(first at index \(3, 10, 2\)\)"):
        CardioNetClassifier(**TINY).fit(X, y)


def test_lead_count_differing_from_fit_is_rejected():
    X, y = make_ecgs()
    clf = CardioNetClassifier(**TINY).fit(X, y)
    with pytest.raises(
        ValueError, match="X has 8 leads, but CardioNetClassifier was fitted with 12 leads"
    ):
        clf.predict(X[:, :, :8])


def test_a_record_shorter_than_the_fixed_input_is_rejected_naming_the_minimum():
    X, y = make_ecgs()
    clf = CardioNetClassifier(**TINY).fit(X, y)
    assert clf.min_timesteps_ == 64 and clf.min_duration_ == 0.64
    with pytest.raises(
        ValueError, match=r"0.32 s long \(32 samples at 100 Hz\), shorter than the 0.64 s"
    ):
        clf.predict_proba(X[:, :32])


def test_a_fixed_input_network_scores_longer_records_by_overlapping_windows():
    X, y = make_ecgs()
    clf = CardioNetClassifier(**TINY).fit(X, y)
    longer = np.concatenate([X[:4], X[:4, :32]], axis=1)  # 96 timesteps: windows at 0 and 32
    windows = np.stack([longer[:, :64], longer[:, 32:]], axis=1)
    np.testing.assert_allclose(clf.predict_proba(longer), clf.predict_proba(windows), rtol=1e-6)


def test_y_with_wrong_number_of_rows_is_rejected():
    X, y = make_ecgs()
    with pytest.raises(ValueError, match="y has 23 rows but X has 24 records"):
        CardioNetClassifier(**TINY).fit(X, y[:23])


def test_y_with_values_other_than_0_and_1_is_rejected():
    X, y = make_ecgs()
    y[0, 0] = 2
    with pytest.raises(ValueError, match=r"0/1 indicator matrix; it contains \[2\]"):
        CardioNetClassifier(**TINY).fit(X, y)


def test_class_without_negative_or_positive_records_is_rejected():
    X, y = make_ecgs()
    frame = pd.DataFrame(y, columns=["NORM", "MI", "STTC", "CD", "HYP"])
    frame["MI"], frame["HYP"] = 1, 0
    with pytest.raises(ValueError, match=r"classes \['MI', 'HYP'\] take one value only"):
        CardioNetClassifier(**TINY).fit(X, frame)


def test_binary_y_with_one_class_is_rejected():
    X, _ = make_ecgs()
    with pytest.raises(ValueError, match="y contains one class only"):
        CardioNetClassifier(**TINY).fit(X, np.ones(len(X), dtype=int))


def test_partial_fit_accepts_a_batch_that_lacks_a_class():
    X, y = make_ecgs()
    y[:12, 4] = 0
    clf = CardioNetClassifier(**TINY).partial_fit(X[:12], y[:12])
    clf.partial_fit(X[12:], y[12:])
    assert clf.predict_proba(X).shape == (24, 5)


def test_three_dimensional_y_is_rejected():
    X, y = make_ecgs()
    with pytest.raises(ValueError, match="2-D indicator matrix"):
        CardioNetClassifier(**TINY).fit(X, y[:, :, None])


@pytest.mark.parametrize("threshold", [1.5, -0.1, [0.5, 0.5, 0.5, 0.5, 2.0]])
def test_threshold_outside_unit_interval_is_rejected(threshold):
    X, y = make_ecgs()
    clf = CardioNetClassifier(**TINY).fit(X, y)
    clf.set_params(threshold=threshold)
    with pytest.raises(ValueError, match=r"threshold values must lie in \[0, 1\]"):
        clf.predict(X)
    with pytest.raises(ValueError, match=r"threshold values must lie in \[0, 1\]"):
        clone(clf).fit(X, y)


def test_threshold_of_wrong_length_is_rejected():
    X, y = make_ecgs()
    clf = CardioNetClassifier(**TINY, threshold=[0.5, 0.5]).fit(X, y)
    with pytest.raises(ValueError, match="one value per class \\(5\\); got shape \\(2,\\)"):
        clf.predict(X)


def test_a_misspelt_routed_parameter_is_an_error_naming_the_closest_prefix():
    X, y = make_ecgs()
    with pytest.raises(ValueError, match="'optimzer__beta_1'.*did you mean optimizer__beta_1"):
        CardioNetClassifier(**TINY, optimzer__beta_1=0.8).fit(X, y)


def test_scikeras_initialize_is_replaced_by_a_clear_error_and_scorer_is_score():
    X, y = make_ecgs()
    with pytest.raises(NotImplementedError, match="builds its network in fit"):
        CardioNetClassifier(**TINY).initialize(X, y)
    clf = CardioNetClassifier(**TINY).fit(X, y)
    assert clf.scorer(y, clf.predict(X)) == clf.score(X, y)
    assert clf.current_epoch == len(clf.history_["loss"])


def test_set_params_takes_the_names_routed_since_0_5_and_fit_warns():
    X, y = make_ecgs()
    clf = CardioNetClassifier(**TINY, fit__callbacks=[]).fit(X, y)
    clf.set_params(callbacks=None, fit__callbacks=None)  # as scripts of before 0.5 do
    with pytest.warns(FutureWarning, match="callbacks=.*pass fit__callbacks="):
        clf.fit(X, y)
