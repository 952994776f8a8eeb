"""The networks CardioNetClassifier builds, and the training options of the benchmark."""

import numpy as np
import pytest

from cardionet_sk import CardioNetClassifier
from cardionet_sk._keras.architectures import ARCHITECTURES, build_network
from cardionet_sk._keras.callbacks import learning_rate_schedule

SMALL_RESNET = {
    "architecture": "resnet1d_wang",
    "filters": (8, 8),
    "dense_units": 8,
    "epochs": 1,
    "random_state": 0,
}


def make_ecgs(n_records=30, n_timesteps=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_records, n_timesteps, 12)).astype(np.float32)
    y = (X[:, :, :5].mean(axis=1) > 0).astype(int)
    y[:2], y[2:4] = 1, 0
    return X, y


def test_resnet1d_wang_has_the_benchmark_layout_and_parameter_count():
    model = build_network("resnet1d_wang", (250, 12), 5)
    # Stem, three basic blocks of 128 filters (kernels 5 and 3, stride 2 after the first, with
    # projection shortcuts), concat pooling head with a 128-unit layer: 473,349 trainable.
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 473_349
    assert model.get_layer("block2_conv1").strides == (2,)
    assert model.get_layer("block1_conv1").kernel_size == (5,)
    assert model.get_layer("stem_conv").kernel_size == (7,)
    assert model.get_layer("pool").output.shape[-1] == 256


@pytest.mark.parametrize("length", [250, 1000, 37])
def test_resnet1d_wang_accepts_any_record_length(length):
    model = build_network("resnet1d_wang", (250, 12), 5)
    assert model(np.zeros((2, length, 12), dtype=np.float32)).shape == (2, 5)


def test_every_architecture_lists_its_hyperparameters_and_builds_with_them():
    for name, architecture in ARCHITECTURES.items():
        model = build_network(name, (64, 12), 3, **architecture.defaults)
        assert model.output_shape == (None, 3)


def test_routed_model_parameters_reach_the_builder():
    X, y = make_ecgs()
    clf = CardioNetClassifier(**SMALL_RESNET, model__stem_kernel_size=3).fit(X, y)
    assert clf.model_.get_layer("stem_conv").kernel_size == (3,)


def test_fully_convolutional_classifier_trains_on_crops_and_predicts_whole_records():
    X, y = make_ecgs()
    clf = CardioNetClassifier(**SMALL_RESNET, crop_size=40).fit(X, y)
    assert clf.predict_proba(X).shape == (30, 5)
    windows = np.stack([X[:, i : i + 40] for i in range(0, 81, 40)], axis=1)
    assert clf.predict_proba(windows).shape == (30, 5)


def test_resnet_round_trips_through_save_pretrained(tmp_path):
    X, y = make_ecgs()
    clf = CardioNetClassifier(**SMALL_RESNET, crop_size=40).fit(X, y)
    loaded = CardioNetClassifier.from_pretrained(clf.save_pretrained(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_early_stopping_can_monitor_validation_macro_auc():
    X, y = make_ecgs(n_records=40)
    clf = CardioNetClassifier(**{**SMALL_RESNET, "epochs": 2}, monitor="val_macro_auc").fit(X, y)
    auc = clf.history_["val_macro_auc"]
    assert len(auc) == 2 and all(0 <= a <= 1 for a in auc)


def test_time_budget_stops_after_the_first_epoch_past_it():
    X, y = make_ecgs()
    clf = CardioNetClassifier(**{**SMALL_RESNET, "epochs": 50}, max_time=1e-6).fit(X, y)
    assert len(clf.history_["loss"]) == 1


@pytest.mark.parametrize("kind", ["cosine", "one_cycle"])
def test_learning_rate_schedules_start_peak_and_end_where_documented(kind):
    schedule = learning_rate_schedule(kind, 1e-2, 50)
    rates = [schedule(epoch) for epoch in range(50)]
    if kind == "cosine":
        assert rates[0] == pytest.approx(1e-2)
        assert all(a > b for a, b in zip(rates, rates[1:]))
    else:
        assert rates[0] == pytest.approx(1e-2 / 25)
        assert max(rates) == pytest.approx(1e-2)
        assert int(np.argmax(rates)) == 15
    assert rates[-1] < 1e-3


def test_schedule_is_applied_each_epoch():
    X, y = make_ecgs()
    clf = CardioNetClassifier(
        **{**SMALL_RESNET, "epochs": 3}, lr_schedule="cosine", learning_rate=0.01
    ).fit(X, y)
    np.testing.assert_allclose(clf.history_["learning_rate"], [0.01, 0.0075, 0.0025], rtol=1e-5)
