"""Export a fitted classifier for deployment: raw millivolt records in, probabilities out.

Everything :meth:`CardioNetClassifier.predict_proba` does around the network
is written again with TensorFlow ops and traced into one graph: the per-lead
standardisation, for a network trained on crops the overlapping crops and
their aggregation, and the calibration maps. A runtime with no Python and no
scikit-learn (TensorFlow Lite on a device, ONNX Runtime, TensorFlow Serving)
then computes the classifier's probabilities from the records alone. A JSON
sidecar beside the model holds what the graph cannot: class names,
thresholds and the input contract.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf
from sklearn.utils.validation import check_is_fitted

from .._calibration_maps import _EPS, Calibrator
from .._constants import LEADS
from .._validation import check_test_time_shifts, check_thresholds
from .._version import __version__
from ..hub._config import inference_parameters

FORMATS = ("tflite", "onnx", "saved_model")
QUANTIZATIONS = (None, "float16", "int8")
# ONNX operator set of the exported graph: supported by ONNX Runtime >= 1.14.
_ONNX_OPSET = 17


def export_model(
    clf,
    path,
    *,
    format="tflite",
    quantize=None,
    representative_data=None,
    n_timesteps=None,
):
    """Write a fitted classifier as one self-contained graph, and its JSON sidecar.

    The exported graph takes raw records, ``(batch, n_timesteps, n_leads)``
    float32 in millivolts, and returns ``(batch, n_classes)`` probabilities
    equal (to float32 rounding) to ``clf.predict_proba``: standardisation,
    overlapping crops and their aggregation, and calibration maps are inside.

    Parameters
    ----------
    clf : CardioNetClassifier
        A fitted multi-label classifier with ``"mean"`` or ``"max"`` window
        aggregation.
    path : str or path-like
        The model file (a folder for ``"saved_model"``). The sidecar is written
        beside it, with the suffix replaced by ``.json``.
    format : {"tflite", "onnx", "saved_model"}, default="tflite"
        TensorFlow Lite flat buffer, ONNX model (needs ``tf2onnx``) or
        TensorFlow SavedModel.
    quantize : {None, "float16", "int8"}, default=None
        TensorFlow Lite only. ``"float16"`` stores the weights as float16;
        ``"int8"`` stores them as int8 and, with ``representative_data``,
        quantizes the activations too (full integer quantization, float input
        and output kept).
    representative_data : array-like of shape (n_records, n_timesteps, n_leads), default=None
        Raw records whose activations calibrate the int8 ranges; about 100 are
        enough.
    n_timesteps : int, default=None
        Record length of the input contract; ``None`` is the length seen in
        fit. Only a classifier trained on crops (or a fully convolutional
        network) accepts another length.

    Returns
    -------
    model_path, metadata_path : pathlib.Path
        The written model and its JSON sidecar.

    Raises
    ------
    ValueError
        For an unknown format or quantization, a binary classifier, a callable
        window aggregation, or a record length the network cannot take.
    ImportError
        If ``format="onnx"`` and ``tf2onnx`` is not installed.
    """
    _check_export(clf, format, quantize, representative_data)
    n_timesteps = _check_length(clf, n_timesteps)
    path = Path(path)
    if path.suffix == ".json":
        raise ValueError(f"{path} would be overwritten by the JSON sidecar; choose another name.")
    path.parent.mkdir(parents=True, exist_ok=True)
    function = serving_function(clf, n_timesteps)
    if format == "tflite":
        path.write_bytes(_to_tflite(function, quantize, representative_data))
    elif format == "onnx":
        _to_onnx(function, path)
    else:
        tf.saved_model.save(
            _Module(clf.model_, function), str(path), signatures={"serving_default": function}
        )
    metadata_path = path.with_suffix(".json")
    metadata_path.write_text(json.dumps(export_metadata(clf, n_timesteps, format, quantize)))
    return path, metadata_path


def _check_export(clf, format, quantize, representative_data):
    check_is_fitted(clf, "model_")
    if format not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}; got {format!r}.")
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {list(QUANTIZATIONS)}; got {quantize!r}.")
    if quantize is not None and format != "tflite":
        raise ValueError(f"quantize={quantize!r} applies to format='tflite' only.")
    if representative_data is not None and quantize != "int8":
        raise ValueError("representative_data calibrates quantize='int8' only.")
    if clf.binary_:
        raise ValueError(
            "Exporting a binary classifier is not supported: fit it on a 2-D indicator y "
            "(one column) to export its (n_records, 1) probabilities."
        )
    if clf.window_aggregation not in ("mean", "max"):
        raise ValueError(
            "Only window_aggregation='mean' or 'max' can be exported; a callable cannot be "
            "written as graph operations."
        )


def _check_length(clf, n_timesteps):
    """The input record length, checked against the network and the crops."""
    n_timesteps = clf.n_features_in_ if n_timesteps is None else n_timesteps
    if not isinstance(n_timesteps, (int, np.integer)) or n_timesteps < 1:
        raise ValueError(f"n_timesteps must be a positive int; got {n_timesteps!r}.")
    n_timesteps = int(n_timesteps)
    expected = clf.model_.input_shape[1]
    if clf.crop_size is not None and n_timesteps >= clf.crop_size:
        return n_timesteps
    if expected is not None and n_timesteps != expected:
        raise ValueError(
            f"n_timesteps={n_timesteps}, but the network takes {expected} timesteps"
            + (f" and crops of crop_size={clf.crop_size}." if clf.crop_size else ".")
        )
    return n_timesteps


class _Module(tf.Module):
    """The network and its serving function: a SavedModel saves the variables it tracks."""

    def __init__(self, model, function):
        super().__init__()
        self.model = model
        self.serve = function


def serving_function(clf, n_timesteps):
    """The :func:`tf.function` from raw records to calibrated probabilities.

    Parameters
    ----------
    clf : CardioNetClassifier
        A fitted classifier, checked by :func:`export_model`.
    n_timesteps : int
        Record length of the input signature; the batch axis is left open.

    Returns
    -------
    function : tf.types.experimental.PolymorphicFunction
        ``records -> {"probabilities": proba}``, float32 throughout, with a
        fixed input signature.
    """
    model, n_leads = clf.model_, clf.n_leads_in_
    # NumPy arrays, made constants of the graph when traced: tensors made out here would be
    # captured inputs, which tf2onnx turns into inputs of the ONNX model.
    mean, scale = (np.asarray(v, dtype=np.float32) for v in (clf.mean_, clf.scale_))
    calibrators = (
        None
        if clf._calibration_maps() is None
        else [Calibrator.from_dict(mapping) for mapping in clf._calibration_maps()]
    )
    # As predict_proba: records of crop_size timesteps are not cropped, and the samples after
    # the last full crop are dropped.
    stride = clf._prediction_stride()
    crop = clf.crop_size if stride is not None and n_timesteps > clf.crop_size else None
    reduce = tf.reduce_mean if clf.window_aggregation == "mean" else tf.reduce_max
    shifts = check_test_time_shifts(clf.test_time_shifts)

    def network(windows):
        """The network's probabilities of ``windows``, averaged over the test-time shifts."""
        outputs = [model(_roll(windows, shift), training=False) for shift in shifts]
        return outputs[0] if len(outputs) == 1 else tf.add_n(outputs) / len(outputs)

    signature = [tf.TensorSpec((None, n_timesteps, n_leads), tf.float32, name="records")]

    @tf.function(input_signature=signature, autograph=False)
    def serve(records):
        x = (records - mean) / scale
        if crop is None:
            proba = network(x)
        else:
            crops = tf.signal.frame(x, crop, stride, axis=1)  # (batch, n_crops, crop, leads)
            n_crops = crops.shape[1]
            proba = network(tf.reshape(crops, (-1, crop, n_leads)))
            proba = reduce(tf.reshape(proba, (-1, n_crops, proba.shape[-1])), axis=1)
        if calibrators is not None:
            proba = calibrate(proba, calibrators)
        return {"probabilities": tf.identity(proba, name="probabilities")}

    return serve


def _roll(windows, shift):
    """``np.roll(windows, shift, axis=1)`` out of slices: every runtime has those, not Roll."""
    shift %= windows.shape[1]
    if shift == 0:
        return windows
    return tf.concat([windows[:, -shift:], windows[:, :-shift]], axis=1)


def calibrate(proba, calibrators):
    """:func:`~cardionet_sk.apply_calibration` as TensorFlow ops, one column per calibrator."""
    columns = [_calibrate_column(proba[:, k], c) for k, c in enumerate(calibrators)]
    return tf.stack(columns, axis=1)


def _logit(p):
    # max(1 - p, eps) rather than clip(p, eps, 1 - eps): 1 - 1e-12 is 1 in float32, whereas
    # 1 - p is exact for p >= 0.5, so p = 1 maps to the same logit (27.6) as in float64.
    return tf.math.log(tf.maximum(p, _EPS)) - tf.math.log(tf.maximum(1.0 - p, _EPS))


def _calibrate_column(p, calibrator):
    if calibrator.method == "sigmoid":
        return tf.sigmoid(-(calibrator.a * _logit(p) + calibrator.b))
    if calibrator.method == "temperature":
        # Unclipped, as in float64: 0 and 1 stay 0 and 1.
        return tf.sigmoid((tf.math.log(p) - tf.math.log(1.0 - p)) / calibrator.t)
    return _interp(p, calibrator.x, calibrator.y)


def _interp(p, x, y):
    """:func:`numpy.interp` with plain TensorFlow Lite ops (no searchsorted, no Flex ops)."""
    x, y = tf.constant(x, tf.float32), tf.constant(y, tf.float32)
    if x.shape[0] == 1:
        return tf.zeros_like(p) + y[0]
    # j, the segment of p: the last breakpoint at or below p within [0, K - 2], so that
    # j + 1 exists, is the count of the inner breakpoints x[1:-1] at or below p (x sorted).
    # Counting needs no integer clipping, which TensorFlow Lite only has as a Flex op.
    inner = x[1:-1]
    if inner.shape[0] == 0:
        j = tf.zeros_like(p, dtype=tf.int32)
    else:
        j = tf.reduce_sum(tf.cast(p[:, None] >= inner[None, :], tf.int32), axis=1)
    x0, x1, y0, y1 = tf.gather(x, j), tf.gather(x, j + 1), tf.gather(y, j), tf.gather(y, j + 1)
    t = tf.clip_by_value((p - x0) / tf.maximum(x1 - x0, 1e-30), 0.0, 1.0)
    # At or past x[j + 1], only possible past the last breakpoint or at a repeated one,
    # np.interp returns y[j + 1]: a zero-width segment is a jump.
    t = tf.where(p >= x1, tf.ones_like(t), t)
    return y0 + t * (y1 - y0)


def _to_tflite(function, quantize, representative_data):
    """The TensorFlow Lite flat buffer of ``function``, quantized as asked."""
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()])
    if quantize is not None:
        # Alone, DEFAULT is dynamic-range quantization: int8 weights, float activations.
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if representative_data is not None:
        records = np.asarray(representative_data, dtype=np.float32)

        def representative_dataset():
            for record in records:
                yield [record[np.newaxis]]

        converter.representative_dataset = representative_dataset
        # The standardisation, crops and calibration maps stay float where int8 has no kernel.
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
            tf.lite.OpsSet.TFLITE_BUILTINS,
        ]
    try:
        return converter.convert()
    except RuntimeError as error:
        if representative_data is None:
            raise
        # TensorFlow 2.21's full-integer quantizer rejects some graphs (e.g. the column
        # slices of calibration maps) with a bare RuntimeError: say what to do instead.
        raise ValueError(
            "Full int8 quantization (representative_data) failed for this graph; export "
            "with quantize='int8' and no representative_data (int8 weights), or without "
            "calibration maps."
        ) from error


def _to_onnx(function, path):
    try:
        import tf2onnx
    except ImportError as error:
        raise ImportError(
            "format='onnx' needs tf2onnx: pip install 'cardionet-sk[export]'."
        ) from error
    tf2onnx.convert.from_function(
        function,
        input_signature=function.input_signature,
        opset=_ONNX_OPSET,
        output_path=str(path),
    )


def export_metadata(clf, n_timesteps, format, quantize):
    """The JSON sidecar: what a runtime needs beside the graph to use its outputs."""
    config = getattr(clf, "pretrained_config_", None)
    if config is not None:
        leads = list(config.input.leads)
    elif clf.n_leads_in_ == len(LEADS):
        leads = list(LEADS)
    else:
        leads = [f"lead{i}" for i in range(clf.n_leads_in_)]
    return {
        "format": format,
        "quantize": quantize,
        "classes": [c if isinstance(c, str) else c.item() for c in clf.classes_],
        "thresholds": check_thresholds(clf.threshold, clf.n_classes_).tolist(),
        "input": {
            "name": "records",
            "shape": [None, n_timesteps, clf.n_leads_in_],
            "dtype": "float32",
            "units": "mV",
            "n_timesteps": n_timesteps,
            "leads": leads,
            "sampling_rate": float(clf.sampling_rate),
        },
        "output": {"name": "probabilities", "shape": [None, clf.n_classes_], "dtype": "float32"},
        "calibrated": clf._calibration_maps() is not None,
        # The saved inference parameters, with the stride and shifts the graph applies.
        **inference_parameters(clf),
        "crop_stride": clf._prediction_stride(),
        "test_time_shifts": list(check_test_time_shifts(clf.test_time_shifts)),
        "cardionet_sk_version": __version__,
    }


def tflite_interpreter(path, batch_size, num_threads=None):
    """A TensorFlow Lite interpreter of an exported model, its batch axis set and allocated.

    LiteRT's ``ai_edge_litert`` when installed, else the ``tf.lite.Interpreter``
    that TensorFlow still ships (deprecated, silenced here).
    """
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
    (records,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(records["index"], (batch_size, *records["shape"][1:]))
    interpreter.allocate_tensors()
    return interpreter


def tflite_predict(interpreter, X):
    """Probabilities of the records ``X`` (one batch of the interpreter's size)."""
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], X)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
