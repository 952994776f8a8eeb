"""Inference speed of the embedded models: classifier, bare Keras, TensorFlow Lite and ONNX.

    python benchmarks/inference.py [--data-home DIR] [--records 2193] [--models NAME ...]

For every embedded superdiagnostic model (``superdiagnostic_models``), on the same
``--records`` records of PTB-XL fold 9 (the 52 sample records repeated
without ``--data-home``), ECG records per second through

- ``clf.predict_proba`` (validation, signal checks, standardisation, crops,
  aggregation, calibration);
- for a model trained on crops that predicts whole records
  (``crop_inference="whole"``), ``predict_proba`` over overlapping crops
  instead (``crop_inference="sliding"``, the benchmark's evaluation);
- the bare Keras network, ``model_.predict`` on standardised crops made
  beforehand (each also rolled by the model's test-time shifts): the same
  network work, none of the rest;
- each export, batches of 32 records: TensorFlow Lite float32, float16
  weights, int8 weights, full int8 (weights and activations, their ranges from
  64 training records of fold 8; without the calibration maps, which full int8
  cannot hold, so compared with the uncalibrated classifier), and ONNX float32
  run by ONNX Runtime;

against the compute bound: the multiply-accumulates of the Conv1D and Dense
layers per record, over the machine's float32 matrix-product throughput
(``np.matmul`` of two 2048 x 2048 arrays, two FLOPs per MAC). The file size of
each export, and the macro ROC AUC of each export on the timed records (with
labels from fold 9) next to the float32 export's, show what quantization costs.
Every timing is the fastest of ``--repeats`` runs after one untimed warm-up.
With ``--models``, only those models are timed and the other embedded models' results are
kept.
"""

import argparse
import copy as copy_module
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
from sklearn.metrics import roc_auc_score

from cardionet_sk import load_pretrained
from cardionet_sk._keras.export import export_model, tflite_interpreter, tflite_predict
from cardionet_sk._statistics import standardize
from cardionet_sk._validation import check_test_time_shifts
from cardionet_sk.datasets import fetch_ptbxl, load_sample

from _common import RESULTS, command_line, machine, superdiagnostic_models

EXPORTS = {
    "TFLite float32": {},
    "TFLite float16": {"quantize": "float16"},
    "TFLite int8 weights": {"quantize": "int8"},
    "TFLite full int8, uncalibrated": {"quantize": "int8", "representative": True},
    "ONNX float32": {"format": "onnx"},
}
EXPORT_BATCH = 32


def records(data_home, n_records):
    """Timed records, their labels (None for the sample) and representative records."""
    if data_home is None:
        X = load_sample().data.astype(np.float32)
        X = np.resize(X, (n_records, *X.shape[1:]))
        return X, None, X[:64]
    data = fetch_ptbxl(data_home, folds=[8, 9], download_if_missing=False)
    X, y = data.data[data.fold == 9].astype(np.float32), data.target[data.fold == 9]
    # Full int8's activation ranges come from training records (fold 8), as in deployment.
    return X[:n_records], y[:n_records], data.data[data.fold == 8][:64].astype(np.float32)


def fastest(function, repeats):
    function()  # warm-up: graph tracing, interpreter allocation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def macs_per_record(clf):
    """Multiply-accumulates of the Conv1D and Dense layers for one record, all its crops."""
    inputs = network_inputs(clf, np.zeros((1, clf.n_features_in_, clf.n_leads_in_)))
    # A fully convolutional network has no time axis until given one: clone it for one input.
    length = inputs.shape[1]
    model = keras.models.clone_model(
        clf.model_, input_tensors=keras.Input((length, clf.n_leads_in_))
    )
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv1D):
            _, length, out_channels = layer.output.shape
            total += length * layer.kernel_size[0] * layer.input.shape[-1] * out_channels
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return total * inputs.shape[0]


def network_inputs(clf, X):
    """The standardised crops (or records) the network sees for ``X``, one after another,
    and again rolled by each of its test-time shifts."""
    windows = clf._validate_X(X, reset=False, check_signals=False)  # the classifier's own cut
    windows = windows.reshape(-1, *windows.shape[2:])
    shifts = check_test_time_shifts(clf.test_time_shifts)
    rolled = [np.roll(windows, s, axis=1) if s else windows for s in shifts]
    return standardize(np.concatenate(rolled), clf.mean_, clf.scale_)


def matmul_flops(n=2048, repeats=5):
    a, b = np.ones((n, n), np.float32), np.ones((n, n), np.float32)
    return 2 * n**3 / fastest(lambda: np.matmul(a, b), repeats)


def in_batches(predict, X):
    """``predict`` on batches of EXPORT_BATCH records, the last one zero-padded."""
    padded = np.zeros((-(-len(X) // EXPORT_BATCH) * EXPORT_BATCH, *X.shape[1:]), np.float32)
    padded[: len(X)] = X
    batches = padded.reshape(-1, EXPORT_BATCH, *X.shape[1:])
    return np.concatenate([predict(batch) for batch in batches])[: len(X)]


def export_runner(path, threads):
    """A function from a batch of records to the export's probabilities."""
    if path.suffix == ".onnx":
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        session = onnxruntime.InferenceSession(str(path), options)
        return lambda batch: session.run(["probabilities"], {"records": batch})[0]
    interpreter = tflite_interpreter(path, EXPORT_BATCH, num_threads=threads)
    return lambda batch: tflite_predict(interpreter, batch)


def quality(proba, reference, y):
    return {
        "max_abs_diff": float(np.abs(proba - reference).max()),
        "macro_auc": None if y is None else float(roc_auc_score(y, proba, average="macro")),
    }


def benchmark_model(name, X, y, representative, args, folder):
    clf = load_pretrained(name).set_params(signal_checks=False)
    inputs = network_inputs(clf, X)
    rows = {"predict_proba": fastest(lambda: clf.predict_proba(X), args.repeats)}
    reference = clf.predict_proba(X)
    uncalibrated = clone_with(clf, calibration=False).predict_proba(X)
    results, sliding_auc = {}, None
    if clf.crop_size is not None and clf.crop_inference == "whole":
        # The calibration maps were fitted to whole-record scores: compare uncalibrated AUCs.
        sliding = clone_with(clf, crop_inference="sliding", calibration=False)
        rows["predict_proba, sliding crops"] = fastest(
            lambda: sliding.predict_proba(X), args.repeats
        )
        if y is not None:
            sliding_auc = float(roc_auc_score(y, sliding.predict_proba(X), average="macro"))
    rows["bare Keras"] = fastest(
        lambda: clf.model_.predict(inputs, batch_size=256, verbose=0), args.repeats
    )
    sizes = {}
    for label, settings in EXPORTS.items():
        full_int8 = settings.get("representative", False)
        exported = clone_with(clf, calibration=False) if full_int8 else clf
        form = settings.get("format", "tflite")
        path, _ = export_model(
            exported,
            folder / f"{name}-{len(sizes)}.{form}",
            format=form,
            quantize=settings.get("quantize"),
            representative_data=representative if full_int8 else None,
        )
        sizes[label] = path.stat().st_size
        run = export_runner(path, args.threads)
        rows[label] = fastest(lambda run=run: in_batches(run, X), args.repeats)
        results[label] = quality(in_batches(run, X), uncalibrated if full_int8 else reference, y)
    return {
        "ecg_per_s": {label: len(X) / seconds for label, seconds in rows.items()},
        "macs_per_record": macs_per_record(clf),
        "file_bytes": sizes,
        "quality": results,
        "reference_macro_auc": None
        if y is None
        else float(roc_auc_score(y, reference, average="macro")),
        "uncalibrated_macro_auc": None
        if y is None
        else float(roc_auc_score(y, uncalibrated, average="macro")),
        "sliding_uncalibrated_macro_auc": sliding_auc,
    }


def clone_with(clf, **params):
    """A copy of a fitted classifier sharing its network, with other prediction settings."""
    copy = copy_module.copy(clf)
    return copy.set_params(**params)


def markdown(results, command, machine_line):
    lines = [
        "# Inference speed: classifier, bare Keras, TensorFlow Lite and ONNX exports",
        "",
        f"`{command}`",
        "",
        f"Machine: {machine_line}. float32 matrix product: "
        f"{results['matmul_gflops']:.0f} GFLOP/s; {results['n_records']} records "
        f"({results['records']}).",
        "",
    ]
    for name, model in results["models"].items():
        bound = results["matmul_gflops"] * 1e9 / 2 / model["macs_per_record"]
        lines += [
            f"## {name}",
            "",
            f"{model['macs_per_record'] / 1e6:.1f} M MAC per record: compute bound "
            f"{bound:.0f} ECG/s. predict_proba's macro AUC: {_auc(model['reference_macro_auc'])}"
            f" (uncalibrated: {_auc(model['uncalibrated_macro_auc'])}"
            + (
                f"; uncalibrated over sliding crops: "
                f"{_auc(model['sliding_uncalibrated_macro_auc'])}"
                if "predict_proba, sliding crops" in model["ecg_per_s"]
                else ""
            )
            + "). Max abs diff: against predict_proba, uncalibrated for full int8. The bound "
            "is for float32 arithmetic, which int8 kernels outrun.",
            "",
            "| path | ECG/s | % of bound | file size | max abs diff | macro AUC |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for label, speed in model["ecg_per_s"].items():
            size = model["file_bytes"].get(label)
            quality = model["quality"].get(label, {})
            lines.append(
                f"| {label} | {speed:.1f} | {100 * speed / bound:.1f} % | "
                + (f"{size / 2**20:.2f} MiB" if size else "")
                + " | "
                + (f"{quality['max_abs_diff']:.2g}" if quality else "")
                + f" | {_auc(quality.get('macro_auc')) if quality else ''} |"
            )
        lines.append("")
    return "\n".join(lines)


def _auc(value):
    return "n/a" if value is None else f"{value:.4f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-home", default=None, help="PTB-XL data home holding fold 9")
    parser.add_argument("--records", type=int, default=2193, help="fold-9 records timed")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--models", nargs="+", default=None)
    args = parser.parse_args()
    X, y, representative = records(args.data_home, args.records)
    previous = RESULTS / "inference.json"
    # A model no longer embedded keeps no row: it would describe nothing the package ships.
    embedded = superdiagnostic_models()
    kept = json.loads(previous.read_text())["models"] if args.models else {}
    results = {
        "n_records": len(X),
        "records": "PTB-XL fold 9" if y is not None else "the 52 sample records, repeated",
        "matmul_gflops": matmul_flops() / 1e9,
        "models": {name: row for name, row in kept.items() if name in embedded},
    }
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models or embedded:
            results["models"][name] = benchmark_model(
                name, X, y, representative, args, Path(folder)
            )
            print(name, json.dumps(results["models"][name]["ecg_per_s"]), flush=True)
    command = command_line("inference.py", sys.argv[1:])
    machine_line = machine()
    results.update(command=command, machine=machine_line)
    (RESULTS / "inference.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "inference.md").write_text(markdown(results, command, machine_line))


if __name__ == "__main__":
    main()
