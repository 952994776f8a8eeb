"""Inference speed of the embedded models: classifier, bare Keras, TensorFlow Lite exports.

    python benchmarks/inference.py [--data-home DIR] [--records 256]

For every embedded model (``cardionet_sk.list_pretrained()``), on the same
``--records`` records of PTB-XL fold 9 (the 52 sample records repeated
without ``--data-home``), ECG records per second through

- ``clf.predict_proba`` (validation, signal checks, standardisation, crops,
  aggregation, calibration);
- the bare Keras network, ``model_.predict`` on standardised crops made
  beforehand: the same network work, none of the rest;
- each TensorFlow Lite export (float32, float16 weights, int8 weights, and
  full int8 calibrated on other fold-9 records), batches of 32 records;

against the compute bound: the multiply-accumulates of the Conv1D and Dense
layers per record, over the machine's float32 matrix-product throughput
(``np.matmul`` of two 2048 x 2048 arrays, two FLOPs per MAC). The file size of
each export, and the macro ROC AUC of each export on the timed records (with
labels from fold 9) next to the float32 export's, show what quantization costs.
Every timing is the fastest of ``--repeats`` runs after one untimed warm-up.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
from sklearn.metrics import roc_auc_score

from cardionet_sk import CardioNetClassifier, list_pretrained
from cardionet_sk._keras.export import export_model, tflite_interpreter, tflite_predict
from cardionet_sk._statistics import standardize
from cardionet_sk._windowing import sliding_windows
from cardionet_sk.datasets import fetch_ptbxl, load_sample

from _common import RESULTS, machine

EXPORTS = {
    "TFLite float32": {},
    "TFLite float16": {"quantize": "float16"},
    "TFLite int8 weights": {"quantize": "int8"},
}
TFLITE_BATCH = 32


def records(data_home, n_records):
    """Timed records, their labels (None for the sample) and representative records."""
    if data_home is None:
        X = load_sample().data.astype(np.float32)
        X = np.resize(X, (n_records, *X.shape[1:]))
        return X, None, X[:64]
    data = fetch_ptbxl(data_home, folds=[9], download_if_missing=False)
    X = data.data.astype(np.float32)
    return X[:n_records], data.target[:n_records], X[n_records : n_records + 64]


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
    # A fully convolutional network has no time axis until given one: clone it for one crop.
    length = clf.crop_size or clf.n_features_in_
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
    return total * network_inputs(clf, np.zeros((1, clf.n_features_in_, clf.n_leads_in_))).shape[0]


def network_inputs(clf, X):
    """The standardised crops (or records) the network sees for ``X``, one after another."""
    if clf.crop_size is not None and X.shape[1] > clf.crop_size:
        X = sliding_windows(X, clf.crop_size, clf.crop_stride or max(1, clf.crop_size // 2))
        X = X.reshape(-1, *X.shape[2:])
    return standardize(X, clf.mean_, clf.scale_)


def matmul_flops(n=2048, repeats=5):
    a, b = np.ones((n, n), np.float32), np.ones((n, n), np.float32)
    return 2 * n**3 / fastest(lambda: np.matmul(a, b), repeats)


def tflite_proba(path, X, threads):
    interpreter = tflite_interpreter(path, TFLITE_BATCH, num_threads=threads)
    padded = np.zeros((-(-len(X) // TFLITE_BATCH) * TFLITE_BATCH, *X.shape[1:]), np.float32)
    padded[: len(X)] = X
    batches = padded.reshape(-1, TFLITE_BATCH, *X.shape[1:])
    return np.concatenate([tflite_predict(interpreter, batch) for batch in batches])[: len(X)]


def benchmark_model(name, X, y, representative, args, folder):
    clf = CardioNetClassifier.from_pretrained(name).set_params(signal_checks=False)
    inputs = network_inputs(clf, X)
    rows = {
        "predict_proba": fastest(lambda: clf.predict_proba(X), args.repeats),
        "bare Keras": fastest(
            lambda: clf.model_.predict(inputs, batch_size=256, verbose=0), args.repeats
        ),
    }
    sizes, aucs, reference = {}, {}, clf.predict_proba(X)
    for label, settings in EXPORTS.items():
        path, _ = export_model(
            clf,
            folder / f"{name}-{label.split()[-1]}-{len(sizes)}.tflite",
            quantize=settings.get("quantize"),
            representative_data=representative if settings.get("representative") else None,
        )
        sizes[label] = path.stat().st_size
        rows[label] = fastest(lambda path=path: tflite_proba(path, X, args.threads), args.repeats)
        proba = tflite_proba(path, X, args.threads)
        aucs[label] = {
            "max_abs_diff": float(np.abs(proba - reference).max()),
            "macro_auc": None if y is None else float(roc_auc_score(y, proba, average="macro")),
        }
    macs = macs_per_record(clf)
    return {
        "ecg_per_s": {label: len(X) / seconds for label, seconds in rows.items()},
        "macs_per_record": macs,
        "file_bytes": sizes,
        "quality": aucs,
        "reference_macro_auc": None
        if y is None
        else float(roc_auc_score(y, reference, average="macro")),
    }


def markdown(results, command, machine_line):
    lines = [
        "# Inference speed: classifier, bare Keras, TensorFlow Lite exports",
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
            f"{bound:.0f} ECG/s. predict_proba's macro AUC: {_auc(model['reference_macro_auc'])}.",
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
    parser.add_argument("--records", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    X, y, representative = records(args.data_home, args.records)
    results = {
        "n_records": len(X),
        "records": "PTB-XL fold 9" if y is not None else "the 52 sample records, repeated",
        "matmul_gflops": matmul_flops() / 1e9,
        "models": {},
    }
    with tempfile.TemporaryDirectory() as folder:
        for name in list_pretrained():
            results["models"][name] = benchmark_model(
                name, X, y, representative, args, Path(folder)
            )
            print(name, json.dumps(results["models"][name]["ecg_per_s"]), flush=True)
    command = "python benchmarks/inference.py " + " ".join(sys.argv[1:])
    machine_line = machine()
    results.update(command=command, machine=machine_line)
    (RESULTS / "inference.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "inference.md").write_text(markdown(results, command, machine_line))


if __name__ == "__main__":
    main()
