"""The saved-model schema: one ModelConfig validates every field of config.json on read."""

import json

import numpy as np
import pandas as pd
import pytest
from _helpers import TINY

from cardionet_sk import CardioNetClassifier
from cardionet_sk.hub import ConfigError, ModelConfig

CLASSES = ["NORM", "MI", "STTC", "CD", "HYP"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 64, 12)).astype(np.float32)
    y = pd.DataFrame((X[:, :, :5].mean(axis=1) > 0).astype(int), columns=CLASSES)
    clf = CardioNetClassifier(**TINY, threshold=[0.1, 0.2, 0.3, 0.4, 0.5]).fit(X, y)
    return clf.save_pretrained(tmp_path_factory.mktemp("saved") / "model")


def tamper(folder, tmp_path, change):
    """A copy of ``folder`` whose config.json was changed by ``change(config)``."""
    copy = tmp_path / "tampered"
    copy.mkdir()
    for path in folder.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    config = json.loads((copy / "config.json").read_text())
    change(config)
    (copy / "config.json").write_text(json.dumps(config))
    return copy


def test_config_round_trips_through_its_json(folder):
    config = ModelConfig.read(folder, architectures=None)
    assert ModelConfig.from_dict(config.to_dict()) == config
    assert config.classes == tuple(CLASSES)
    assert config.input.leads[0] == "I" and config.input.n_timesteps == 64


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c["thresholds"].pop(), "thresholds"),
        (lambda c: c["thresholds"].__setitem__(0, "high"), "thresholds"),
        (lambda c: c["standardization"]["mean"].pop(), "standardization.mean"),
        (lambda c: c["standardization"]["scale"].__setitem__(0, -1.0), "standardization.scale"),
        (lambda c: c["input"].__setitem__("n_timesteps", 0), "input.n_timesteps"),
        (lambda c: c["input"].__setitem__("sampling_rate", "fast"), "input.sampling_rate"),
        (lambda c: c.__setitem__("classes", ["NORM", "NORM", "A", "B", "C"]), "classes"),
        (lambda c: c.__setitem__("window_aggregation", "os.system"), "window_aggregation"),
        (lambda c: c.__setitem__("crop_inference", "everything"), "crop_inference"),
        (lambda c: c.__setitem__("test_time_shifts", [0, 2.5]), "test_time_shifts"),
        (lambda c: c.__setitem__("test_time_shifts", []), "test_time_shifts"),
        (lambda c: c.__setitem__("class_descriptions", ["one"]), "class_descriptions"),
        (lambda c: c.__setitem__("task", 5), "task"),
        (lambda c: c.__setitem__("architecture", "builtins.eval"), "architecture"),
        (lambda c: c["hyperparameters"].__setitem__("activation", 3), "hyperparameters"),
        (lambda c: c["hyperparameters"].__setitem__("dropout", "0.5"), "hyperparameters.dropout"),
        (lambda c: c.__setitem__("preprocessing", {"module": "os"}), "preprocessing"),
        (lambda c: c.__setitem__("weights", "../../elsewhere.h5"), "weights"),
        (lambda c: c.__setitem__("binary", "no"), "binary"),
        (lambda c: c.pop("input"), "input"),
        (lambda c: c.__setitem__("calibration", [{"method": "pickle"}]), "calibration"),
        # Out of range: a class never (or always) predicted, a rate of no record, a shift
        # longer than the record, a stride without crops.
        (lambda c: c["thresholds"].__setitem__(0, 1.7), "thresholds"),
        (lambda c: c["thresholds"].__setitem__(0, -0.1), "thresholds"),
        (lambda c: c["input"].__setitem__("sampling_rate", float("inf")), "input.sampling_rate"),
        (lambda c: c["input"].__setitem__("sampling_rate", 0), "input.sampling_rate"),
        (lambda c: c.__setitem__("test_time_shifts", [0, 64]), "test_time_shifts"),
        (lambda c: c.__setitem__("crop_stride", 8), "crop_stride"),
    ],
)
def test_tampered_config_is_rejected_naming_the_file_and_field(folder, tmp_path, change, field):
    tampered = tamper(folder, tmp_path, change)
    with pytest.raises(ConfigError, match=rf"config\.json: field '{field}'"):
        CardioNetClassifier.from_pretrained(tampered)


def test_unknown_config_field_is_rejected(folder, tmp_path):
    tampered = tamper(folder, tmp_path, lambda c: c.__setitem__("loader", "pickle"))
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['loader'\]"):
        CardioNetClassifier.from_pretrained(tampered)


def test_config_disagreeing_with_its_weights_names_the_field(folder, tmp_path):
    def drop_a_class(config):
        for key in ("classes", "thresholds"):
            config[key].pop()

    tampered = tamper(folder, tmp_path, drop_a_class)
    with pytest.raises(ConfigError, match="field 'classes' has 4 label.*has 5 outputs"):
        CardioNetClassifier.from_pretrained(tampered)


def test_config_that_is_not_json_is_rejected(folder, tmp_path):
    tampered = tamper(folder, tmp_path, lambda c: None)
    (tampered / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="config.json is not valid JSON"):
        CardioNetClassifier.from_pretrained(tampered)


def test_loaded_classifier_carries_the_validated_config(folder):
    clf = CardioNetClassifier.from_pretrained(folder)
    assert isinstance(clf.pretrained_config_, ModelConfig)
    assert clf.pretrained_config_.thresholds == (0.1, 0.2, 0.3, 0.4, 0.5)


def test_callable_window_aggregation_cannot_be_saved(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 32, 12)).astype(np.float32)
    y = np.tile([[0, 1], [1, 0]], (6, 1))
    clf = CardioNetClassifier(**TINY, window_aggregation=np.median).fit(X, y)
    with pytest.raises(ValueError, match="callable cannot be saved"):
        clf.save_pretrained(tmp_path / "model")


def test_calibration_maps_round_trip_exactly_and_stay_optional(tmp_path):
    from cardionet_sk import fit_calibration_maps

    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 32, 12)).astype(np.float32)
    y = pd.DataFrame((X[:, :, :3].mean(axis=1) > 0).astype(int), columns=["A", "B", "C"])
    clf = CardioNetClassifier(**TINY).fit(X, y)
    raw = clf.predict_proba(X)
    maps = fit_calibration_maps(y.to_numpy(), raw, method="isotonic")
    clf.fit_calibration(X, y, method="isotonic")
    assert clf.calibration_maps_ == maps
    calibrated = clf.predict_proba(X)
    assert not np.allclose(calibrated, raw)

    loaded = CardioNetClassifier.from_pretrained(clf.save_pretrained(tmp_path / "model"))
    assert loaded.calibration_maps_ == maps
    np.testing.assert_array_equal(loaded.predict_proba(X), calibrated)
    # The network's own scores stay reachable.
    np.testing.assert_allclose(loaded.set_params(calibration=False).predict_proba(X), raw)
    # Refitting drops the maps: they belong to the network they were fitted on.
    assert not hasattr(clf.fit(X, y), "calibration_maps_")


def test_folder_saved_without_calibration_loads_uncalibrated(folder, tmp_path):
    old = tamper(folder, tmp_path, lambda c: c.pop("calibration"))
    assert not hasattr(CardioNetClassifier.from_pretrained(old), "calibration_maps_")


def test_folder_saved_before_whole_record_inference_predicts_crops(folder, tmp_path):
    old = tamper(folder, tmp_path, lambda c: c.pop("crop_inference"))
    assert CardioNetClassifier.from_pretrained(old).crop_inference == "sliding"


def test_folder_saved_before_test_time_shifts_predicts_once(folder, tmp_path):
    old = tamper(folder, tmp_path, lambda c: c.pop("test_time_shifts"))
    assert CardioNetClassifier.from_pretrained(old).test_time_shifts is None


def test_test_time_shifts_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, 64, 12)).astype(np.float32)
    y = (X[:, :, :2].mean(axis=1) > 0).astype(int)
    clf = CardioNetClassifier(**TINY, test_time_shifts=(0, 16, 32)).fit(X, y)
    loaded = CardioNetClassifier.from_pretrained(clf.save_pretrained(tmp_path / "model"))
    assert loaded.test_time_shifts == [0, 16, 32]
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)


def test_malformed_calibration_map_is_rejected(folder, tmp_path):
    def bad_map(config):
        config["calibration"] = [{"method": "isotonic", "x": [0.1], "y": [2.0]}] * 5

    with pytest.raises(ConfigError, match="field 'calibration' holds an invalid map"):
        CardioNetClassifier.from_pretrained(tamper(folder, tmp_path, bad_map))


def test_a_failed_save_leaves_no_model_folder_behind_and_keeps_an_old_one(tmp_path, monkeypatch):
    from cardionet_sk.hub import _folder

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 64, 12)).astype(np.float32)
    clf = CardioNetClassifier(**TINY).fit(X, (X[:, :, :5].mean(axis=1) > 0).astype(int))
    old = clf.save_pretrained(tmp_path / "old")
    before = {p.name: p.read_bytes() for p in old.iterdir()}

    def broken(config):
        raise RuntimeError("disk full")

    monkeypatch.setattr(_folder, "model_card", broken)
    for folder in (tmp_path / "new", old):
        with pytest.raises(RuntimeError, match="disk full"):
            clf.save_pretrained(folder)
    assert not (tmp_path / "new").exists()
    assert {p.name: p.read_bytes() for p in old.iterdir()} == before


def test_inference_parameters_are_declared_once_and_saved_and_loaded_by_that_declaration(
    folder, tmp_path
):
    from cardionet_sk.hub import INFERENCE_PARAMETERS

    config = ModelConfig.read(folder, architectures=None)
    clf = CardioNetClassifier.from_pretrained(folder)
    for name in INFERENCE_PARAMETERS:
        assert name in config.to_dict()
        assert getattr(clf, name) == getattr(config, name)
    changed = clf.set_params(test_time_shifts=[0, 8], window_aggregation="max")
    resaved = ModelConfig.read(changed.save_pretrained(tmp_path / "resaved"), architectures=None)
    assert (resaved.test_time_shifts, resaved.window_aggregation) == ([0, 8], "max")
