"""Exported models compute the classifier's probabilities from raw records."""

import builtins
import json

import numpy as np
import pytest
from _helpers import optional_import

from cardionet_sk import (
    CardioNetClassifier,
    apply_calibration,
    fit_calibration_maps,
    list_pretrained,
)
from cardionet_sk._keras.export import export_model, tflite_interpreter, tflite_predict
from cardionet_sk._version import __version__
from cardionet_sk.datasets import load_sample

# Tiny networks, one epoch: the export must reproduce whatever the weights are.
TINY = {
    "cardionet": dict(model__filters=(4,), model__kernel_sizes=(3,), model__dense_units=8),
    "resnet1d_wang": dict(
        model__filters=(4,),
        model__kernel_sizes=(3, 3),
        model__dense_units=8,
        model__stem_kernel_size=3,
        crop_size=250,
        window_aggregation="max",
    ),
}


@pytest.fixture(scope="module")
def sample():
    data = load_sample()
    return data.data.astype(np.float32), data.target, list(data.target_names)


@pytest.fixture(scope="module", params=sorted(TINY))
def fitted(request, sample):
    X, y, names = sample
    settings = TINY[request.param]
    clf = CardioNetClassifier(
        request.param, epochs=1, validation_split=0, random_state=0, class_names=names, **settings
    )
    return clf.fit(X, y)


def tflite_proba(path, X):
    return tflite_predict(tflite_interpreter(path, len(X)), X)


def test_tflite_matches_predict_proba(fitted, sample, tmp_path):
    X, _, _ = sample
    model_path, _ = fitted.set_params(calibration=False).export(tmp_path / "m.tflite")
    np.testing.assert_allclose(tflite_proba(model_path, X), fitted.predict_proba(X), atol=1e-4)


@pytest.mark.parametrize("method", ["sigmoid", "isotonic", "temperature"])
def test_calibration_maps_are_in_the_graph(fitted, sample, method, tmp_path):
    X, y, _ = sample
    raw_path, _ = export_model(fitted.set_params(calibration=False), tmp_path / "raw.tflite")
    raw = tflite_proba(raw_path, X)
    maps = fit_calibration_maps(y, fitted.predict_proba(X), method=method)
    try:
        fitted.fit_calibration(X, y, method=method).set_params(calibration=True)
        model_path, _ = export_model(fitted, tmp_path / "cal.tflite")
        proba = tflite_proba(model_path, X)
        # The graph's maps against apply_calibration on the same network outputs: exact to
        # float32 rounding.
        np.testing.assert_allclose(proba, apply_calibration(raw, maps), atol=1e-4)
        # Against predict_proba, the steep maps of a one-epoch network (its scores span a
        # narrow range) magnify the float32 rounding of the network itself tenfold.
        np.testing.assert_allclose(proba, fitted.predict_proba(X), atol=1e-3)
    finally:
        fitted.set_params(calibration=False)


def test_crops_and_aggregation_are_in_the_graph(fitted, sample, tmp_path):
    # Records longer than seen in fit: more crops, and the last partial crop dropped.
    if fitted.crop_size is None:
        pytest.skip("a network of fixed input length takes only its own record length")
    X = np.concatenate([sample[0], sample[0][:, :130]], axis=1)  # 1130 timesteps
    fitted.set_params(window_aggregation="mean", crop_stride=100)
    try:
        model_path, _ = export_model(fitted, tmp_path / "long.tflite", n_timesteps=1130)
        expected = fitted.predict_proba(X)
        np.testing.assert_allclose(tflite_proba(model_path, X), expected, atol=1e-4)
    finally:
        fitted.set_params(window_aggregation="max", crop_stride=None)


def test_whole_record_inference_is_one_pass_in_the_graph(fitted, sample, tmp_path):
    if fitted.crop_size is None:
        pytest.skip("only a network trained on crops predicts crops or whole records")
    X = sample[0]
    fitted.set_params(crop_inference="whole")
    try:
        model_path, metadata_path = export_model(fitted, tmp_path / "whole.tflite")
        np.testing.assert_allclose(tflite_proba(model_path, X), fitted.predict_proba(X), atol=1e-4)
    finally:
        fitted.set_params(crop_inference="sliding")
    metadata = json.loads(metadata_path.read_text())
    assert metadata["crop_inference"] == "whole" and metadata["crop_stride"] is None


def test_test_time_shifts_are_in_the_graph(fitted, sample, tmp_path):
    # Shifts beyond the window length wrap, as np.roll does; each crop is rolled on its own.
    X = sample[0]
    fitted.set_params(test_time_shifts=[0, 100, -30, 1250])
    try:
        model_path, metadata_path = export_model(fitted, tmp_path / "tta.tflite")
        np.testing.assert_allclose(tflite_proba(model_path, X), fitted.predict_proba(X), atol=1e-4)
    finally:
        fitted.set_params(test_time_shifts=None)
    assert json.loads(metadata_path.read_text())["test_time_shifts"] == [0, 100, -30, 1250]


def test_sidecar(fitted, sample, tmp_path):
    _, _, names = sample
    fitted.set_params(threshold=0.3)
    try:
        model_path, metadata_path = export_model(fitted, tmp_path / "ecg.tflite")
    finally:
        fitted.set_params(threshold=0.5)
    assert metadata_path == tmp_path / "ecg.json"
    metadata = json.loads(metadata_path.read_text())
    assert metadata["classes"] == names
    assert metadata["thresholds"] == [0.3] * 5
    assert metadata["input"]["shape"] == [None, 1000, 12]
    assert metadata["input"]["leads"][:3] == ["I", "II", "III"]
    assert metadata["input"]["sampling_rate"] == 100
    assert metadata["input"]["units"] == "mV"
    assert metadata["output"]["shape"] == [None, 5]
    assert metadata["cardionet_sk_version"] == __version__
    assert metadata["crop_stride"] == (125 if fitted.crop_size else None)


@pytest.mark.parametrize("quantize", ["float16", "int8", "int8+data"])
def test_quantized_tflite_is_close(fitted, sample, quantize, tmp_path):
    X, _, _ = sample
    representative = X if quantize == "int8+data" else None
    model_path, metadata_path = export_model(
        fitted,
        tmp_path / "q.tflite",
        quantize=quantize.split("+")[0],
        representative_data=representative,
    )
    error = np.abs(tflite_proba(model_path, X) - fitted.predict_proba(X))
    # Full integer quantization rounds the activations too: a looser bound than the weights'.
    assert error.max() < (0.25 if representative is not None else 0.02)
    assert error.mean() < (0.05 if representative is not None else 0.005)
    assert json.loads(metadata_path.read_text())["quantize"] == quantize.split("+")[0]


def test_saved_model_matches_predict_proba(fitted, sample, tmp_path):
    import tensorflow as tf

    X, _, _ = sample
    model_path, metadata_path = export_model(fitted, tmp_path / "saved", format="saved_model")
    assert metadata_path == tmp_path / "saved.json"
    serve = tf.saved_model.load(str(model_path)).signatures["serving_default"]
    proba = serve(records=tf.constant(X))["probabilities"].numpy()
    np.testing.assert_allclose(proba, fitted.predict_proba(X), atol=1e-4)


def test_onnx_matches_predict_proba(fitted, sample, tmp_path):
    optional_import("tf2onnx", "export")
    ort = optional_import("onnxruntime", "export")
    X, y, _ = sample

    def onnx_proba():
        model_path, _ = export_model(fitted, tmp_path / "model.onnx", format="onnx")
        session = ort.InferenceSession(str(model_path))
        return session.run(["probabilities"], {"records": X})[0]

    np.testing.assert_allclose(onnx_proba(), fitted.predict_proba(X), atol=1e-4)
    fitted.fit_calibration(X, y, method="sigmoid").set_params(calibration=True)
    try:
        # ONNX Runtime's convolutions round differently from TensorFlow's, and the steep Platt
        # map of a one-epoch network (its scores span a narrow range) magnifies that tenfold.
        np.testing.assert_allclose(onnx_proba(), fitted.predict_proba(X), atol=1e-3)
    finally:
        fitted.set_params(calibration=False)


def test_onnx_without_tf2onnx_is_a_clear_error(fitted, tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_tf2onnx(name, *args, **kwargs):
        if name == "tf2onnx":
            raise ImportError("No module named 'tf2onnx'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tf2onnx)
    with pytest.raises(ImportError, match=r"needs tf2onnx.*cardionet-sk\[export\]"):
        export_model(fitted, tmp_path / "model.onnx", format="onnx")


def test_unfitted_classifier_is_rejected(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        export_model(CardioNetClassifier(), tmp_path / "model.tflite")


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(format="coreml"), "format must be one of"),
        (dict(quantize="int4"), "quantize must be one of"),
        (dict(format="saved_model", quantize="float16"), "applies to format='tflite' only"),
        (dict(representative_data=np.zeros((1, 1000, 12))), "calibrates quantize='int8'"),
    ],
)
def test_bad_settings_are_rejected(fitted, settings, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        export_model(fitted, tmp_path / "model.tflite", **settings)


def test_record_length_is_checked(fitted, tmp_path):
    # The fully convolutional ResNet takes short records uncropped, as predict_proba does.
    if fitted.architecture == "cardionet":
        with pytest.raises(ValueError, match="n_timesteps=100, but the network takes 1000"):
            export_model(fitted, tmp_path / "model.tflite", n_timesteps=100)
    else:
        export_model(fitted, tmp_path / "model.tflite", n_timesteps=100)
    with pytest.raises(ValueError, match="n_timesteps must be a positive"):
        export_model(fitted, tmp_path / "model.tflite", n_timesteps=0)


def test_json_model_path_is_rejected(fitted, tmp_path):
    with pytest.raises(ValueError, match="overwritten by the JSON sidecar"):
        export_model(fitted, tmp_path / "model.json")


def test_binary_and_callable_aggregation_are_rejected(fitted, sample, tmp_path):
    X, y, _ = sample
    fitted.set_params(window_aggregation=np.median)
    try:
        with pytest.raises(ValueError, match="callable cannot be written"):
            export_model(fitted, tmp_path / "model.tflite")
    finally:
        fitted.set_params(
            window_aggregation=TINY[fitted.architecture].get("window_aggregation", "mean")
        )
    binary = CardioNetClassifier(
        model__filters=(2,),
        model__kernel_sizes=(3,),
        model__dense_units=4,
        epochs=1,
        validation_split=0,
    ).fit(X, y[:, 0])
    with pytest.raises(ValueError, match="binary classifier is not supported"):
        export_model(binary, tmp_path / "model.tflite")


@pytest.mark.parametrize("form", ["tflite", "onnx"])
@pytest.mark.parametrize(
    # An ensemble is no single graph: its members export one by one.
    "name",
    [m["name"] for m in list_pretrained(details=True) if m["architecture"] != "ensemble"],
)
def test_embedded_model_exports_within_1e4_of_predict_proba(name, form, sample, tmp_path):
    X, _, _ = sample
    clf = CardioNetClassifier.from_pretrained(name)
    if clf.pretrained_config_.task == "superdiagnostic":
        assert clf.calibration_maps_ is not None  # the maps are in the graph, on real records
    if form == "onnx":
        optional_import("tf2onnx", "export")
        ort = optional_import("onnxruntime", "export")
        path, _ = clf.export(tmp_path / "m.onnx", format="onnx")
        proba = ort.InferenceSession(str(path)).run(["probabilities"], {"records": X})[0]
    else:
        path, _ = clf.export(tmp_path / "m.tflite")
        proba = tflite_proba(path, X)
    np.testing.assert_allclose(proba, clf.predict_proba(X), atol=1e-4)
