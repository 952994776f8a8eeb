"""The networks CardioNetClassifier builds, and the training options of the benchmark."""

import numpy as np
import pytest

from cardionet_sk import CardioNetClassifier
from cardionet_sk._keras.architectures import ARCHITECTURES, XRESNET_DEPTHS, build_network
from cardionet_sk._keras.callbacks import learning_rate_schedule

SMALL_RESNET = {
    "architecture": "resnet1d_wang",
    "model__filters": (8, 8),
    "model__dense_units": 8,
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


def test_inception1d_has_the_benchmark_parameter_count():
    # The benchmark's Inception1d(input_channels=12, kernel_size=40, depth=6, nb_filters=32,
    # bottleneck_size=32, lin_ftrs_head=[128]), counted from its PyTorch definition: a block
    # on ni input channels has 64 * ni + 32 * 32 * (39 + 19 + 9) + 256 parameters (bottleneck,
    # three convolutions, pooled 1x1 convolution, batch norm), the two shortcuts 12 * 128 +
    # 256 and 128 * 128 + 256, the head 2 * 256 + 256 * 128 + 128 + 2 * 128 + 128 * 5 + 5.
    block = lambda ni: 64 * ni + 32 * 32 * (39 + 19 + 9) + 256  # noqa: E731
    reference = block(12) + 5 * block(128) + (12 * 128 + 256) + (128 * 128 + 256)
    reference += 2 * 256 + 256 * 128 + 128 + 2 * 128 + 128 * 5 + 5
    model = build_network("inception1d", (250, 12), 5)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == reference == 507_653


@pytest.mark.parametrize(("depth", "reference"), [(18, 364_933), (50, 953_989), (101, 1_872_261)])
def test_xresnet1d_has_the_benchmark_parameter_count(depth, reference):
    # The benchmark's xresnet1d<depth>(input_channels=12, kernel_size=5, lin_ftrs_head=[128]),
    # counted from its PyTorch definition: stem 12*32*5 + 32*32*5 + 32*64*5 + 2*(32+32+64);
    # bottleneck blocks (depth >= 50) 256*64 + 64*64*5 + 64*256 + 2*(64+64+256), the first
    # one on 64 channels with a 64*256 + 2*256 projection; basic blocks 2*64*64*5 + 2*2*64;
    # head 2*2w + 2w*128 + 128 + 2*128 + 128*5 + 5 for w = 64 * expansion.
    stem = 12 * 32 * 5 + 32 * 32 * 5 + 32 * 64 * 5 + 2 * (32 + 32 + 64)
    expansion, blocks = XRESNET_DEPTHS[depth]
    if expansion == 4:
        block = 256 * 64 + 64 * 64 * 5 + 64 * 256 + 2 * (64 + 64 + 256)
        first = block - 256 * 64 + 64 * 64 + 64 * 256 + 2 * 256
        body = first + (sum(blocks) - 1) * block
    else:
        body = sum(blocks) * (2 * 64 * 64 * 5 + 2 * 2 * 64)
    width = 64 * expansion
    head = 2 * 2 * width + 2 * width * 128 + 128 + 2 * 128 + 128 * 5 + 5
    assert stem + body + head == reference
    model = build_network("xresnet1d", (250, 12), 5, depth=depth)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == reference


def test_xresnet1d_rejects_a_depth_it_has_no_layout_for():
    with pytest.raises(ValueError, match=r"xresnet1d takes depth in \[18, 34, 50, 101, 152\]"):
        build_network("xresnet1d", (250, 12), 5, depth=42)


@pytest.mark.parametrize(
    ("architecture", "settings"),
    [
        ("inception1d", {"model__depth": 3, "model__branch_filters": 4, "model__bottleneck": 4}),
        (
            "xresnet1d",
            {"model__depth": 18, "model__block_filters": 4, "model__stem_filters": (4, 4, 4)},
        ),
    ],
)
def test_benchmark_architectures_train_on_crops_and_predict_whole_records(architecture, settings):
    X, y = make_ecgs()
    clf = CardioNetClassifier(
        architecture,
        model__dense_units=8,
        epochs=1,
        random_state=0,
        crop_size=40,
        crop_inference="whole",
        **settings,
    ).fit(X, y)
    assert clf.predict_proba(X).shape == (30, 5)


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


def test_whole_record_inference_passes_each_record_through_the_network_once():
    X, y = make_ecgs()
    clf = CardioNetClassifier(**SMALL_RESNET, crop_size=40, crop_inference="whole").fit(X, y)
    standardized = ((X - clf.mean_) / clf.scale_).astype(np.float32)
    np.testing.assert_allclose(
        clf.predict_proba(X), clf.model_.predict(standardized, verbose=0), rtol=1e-5, atol=1e-6
    )
    sliding = clf.set_params(crop_inference="sliding").predict_proba(X)
    assert not np.allclose(sliding, clf.model_.predict(standardized, verbose=0))


def test_whole_record_inference_needs_a_network_that_takes_any_length():
    X, y = make_ecgs()
    clf = CardioNetClassifier(
        model__filters=(4,),
        model__kernel_sizes=(3,),
        model__dense_units=4,
        epochs=1,
        crop_size=40,
        crop_inference="whole",
    )
    with pytest.raises(ValueError, match="crop_inference='whole' needs a network"):
        clf.fit(X, y)


def test_resnet_round_trips_through_save_pretrained(tmp_path):
    X, y = make_ecgs()
    clf = CardioNetClassifier(**SMALL_RESNET, crop_size=40, crop_inference="whole").fit(X, y)
    loaded = CardioNetClassifier.from_pretrained(clf.save_pretrained(tmp_path / "m"))
    assert loaded.crop_inference == "whole"
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
