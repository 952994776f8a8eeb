"""Records given at 500 Hz against PTB-XL's own 100 Hz copies of them, and resampling methods.

    python benchmarks/resampling.py [--records DIR] [--data-home DIR]

PTB-XL publishes every record twice, at 500 Hz and at 100 Hz; the embedded models were
trained on the 100 Hz copies. The PhysioNet/CinC Challenge 2021 redistributes PTB-XL's
500 Hz records as ``HRnnnnn`` (PTB-XL ``ecg_id`` nnnnn). For each such record of
``--records`` (default ``../cinc2021``) whose 100 Hz copy is in folds 1-9 (``--data-home``,
or the offline copy in ``../shared``, of which only the folds needed are unpacked):

* parity: every embedded superdiagnostic model (``superdiagnostic_models``, the ensemble
  included) scores the 500 Hz record as the package is told it (``predict_proba(signal,
  sampling_rate=500, lead_names=...)``, which resamples it with ``resample_poly``) and the
  official 100 Hz copy (``sampling_rate=100``). Per model: the mean and largest absolute
  difference of the probabilities, over records and classes. Target: mean <= 0.015.
* methods: the 500 Hz records brought to 100 Hz by polyphase filtering (the package's
  ``resample``), FFT resampling (``scipy.signal.resample``), ``scipy.signal.decimate``
  (its default IIR filter, and its FIR filter) and every fifth sample, each compared with
  the official copy: the signal (median and 99th percentile of the absolute difference, in
  mV) and the probabilities of the default model (``hub.DEFAULT_MODEL``) and of
  ``cardionet-ptbxl`` (``MODELS``).
* why the official copy differs: the low-pass filter that made it, estimated by least
  squares (each 100 Hz sample as a weighted sum of the 500 Hz samples around it; its
  gain at a few frequencies, beside that of ``resample_poly``'s filter), and how long the
  500 Hz records stay flat at their end (every lead constant; the official copies are
  not): the parity is measured again against the official copies held at the 500 Hz
  record's last value over that flat end.

Writes ``benchmarks/results/resampling.json`` and ``resampling.md``.
"""

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import signal as scipy_signal

from cardionet_sk import load_pretrained
from cardionet_sk._input_contract import resample
from cardionet_sk.datasets import read_record
from cardionet_sk.hub import DEFAULT_MODEL

from _common import RESULTS, ROOT, SHARED, provenance, ptbxl_data_home, superdiagnostic_models

#: The models whose probabilities each resampling method is scored with.
MODELS = (DEFAULT_MODEL, "cardionet-ptbxl")
TARGET = 0.015
RATE, OFFICIAL_RATE = 500, 100
FACTOR = RATE // OFFICIAL_RATE
#: Resampling methods, 500 Hz -> 100 Hz along axis -2: name -> (description, function).
METHODS = {
    "polyphase": (
        "`scipy.signal.resample_poly` (Kaiser-window FIR), the package's",
        lambda X: resample(X, RATE, OFFICIAL_RATE),
    ),
    "fft": (
        "`scipy.signal.resample` (FFT)",
        lambda X: scipy_signal.resample(X, X.shape[-2] // FACTOR, axis=-2),
    ),
    "decimate_iir": (
        "`scipy.signal.decimate` (default: Chebyshev I, order 8, zero phase)",
        lambda X: scipy_signal.decimate(X, FACTOR, axis=-2),
    ),
    "decimate_fir": (
        "`scipy.signal.decimate(ftype='fir')`",
        lambda X: scipy_signal.decimate(X, FACTOR, ftype="fir", axis=-2),
    ),
    "every_5th": ("every fifth sample, no filter", lambda X: X[..., ::FACTOR, :]),
}
#: Frequencies (Hz) at which the filters' gains are shown.
FREQUENCIES = (20, 35, 40, 45, 50)
#: Half-width, in 500 Hz samples, of the estimated filter.
HALF_TAPS = 30


def paired_records(records_dir, data_home):
    """The ``HR`` records of ``records_dir`` and the official 100 Hz copies in folds 1-9.

    Returns the pairs ``(name, 500 Hz path, 100 Hz path)`` and the names of the records
    whose copies are not in folds 1-9.
    """
    database = (Path(data_home) / "ptbxl" if data_home else SHARED) / "ptbxl_database.csv"
    database = pd.read_csv(database, index_col="ecg_id")
    found = sorted(Path(records_dir).glob("HR*.hea"))
    ids = {path.stem: int(path.stem[2:]) for path in found}
    present = {name: i for name, i in ids.items() if i in database.index}
    folds = sorted({int(database.strat_fold[i]) for i in present.values()})
    home = ptbxl_data_home(data_home, folds=folds) / "ptbxl"
    pairs = [
        (name, Path(records_dir) / name, home / database.filename_lr[i])
        for name, i in present.items()
    ]
    return pairs, sorted(set(ids) - set(present)), folds


def read_pairs(pairs):
    """The 500 Hz and 100 Hz signals (stacked), and each one's lead names."""
    fast = [read_record(path) for _, path, _ in pairs]
    slow = [read_record(path) for _, _, path in pairs]
    for record, rate in [(r, RATE) for r in fast] + [(r, OFFICIAL_RATE) for r in slow]:
        if record.sampling_rate != rate:
            raise ValueError(f"expected {rate} Hz records, got {record.sampling_rate} Hz")
    names = [list(r.lead_names) for r in fast], [list(r.lead_names) for r in slow]
    if any(n != names[0][0] for n in names[0]) or any(n != names[1][0] for n in names[1]):
        raise ValueError("the records do not all have their leads in the same order")
    return (
        np.stack([r.signal for r in fast]),
        np.stack([r.signal for r in slow]),
        names[0][0],
        names[1][0],
    )


def predict(model, X, rate, leads):
    """Probabilities, and the number of signal-check warnings raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        proba = model.predict_proba(X, sampling_rate=rate, lead_names=leads)
    return np.asarray(proba), len(caught)


def difference(proba, reference, record_names, classes):
    """Mean and largest absolute difference of two probability arrays, and where."""
    diff = np.abs(proba - reference)
    record, label = np.unravel_index(diff.argmax(), diff.shape)
    return {
        "mean_abs_diff": float(diff.mean()),
        "max_abs_diff": float(diff.max()),
        "max_at": f"{record_names[record]} {classes[label]}",
        "per_class_mean_abs_diff": dict(zip(classes, map(float, diff.mean(axis=0)))),
    }


def signal_agreement(X, official):
    """|X - official| in mV: median and 99th percentile, whole records and without their
    last 0.2 s (where the 500 Hz records are flat)."""
    diff = np.abs(np.asarray(X, dtype=np.float64) - official)
    interior = diff[:, : -OFFICIAL_RATE // 5]
    return {
        "median_abs_mv": float(np.median(diff)),
        "p99_abs_mv": float(np.quantile(diff, 0.99)),
        "median_abs_mv_interior": float(np.median(interior)),
        "p99_abs_mv_interior": float(np.quantile(interior, 0.99)),
    }


def estimated_filter(X500, X100):
    """The FIR filter (at 500 Hz) that best makes the official copy from the 500 Hz
    records: least squares over every lead, away from the records' ends."""
    rows, targets = [], []
    for fast, slow in zip(X500.astype(np.float64), X100.astype(np.float64)):
        for t in range(HALF_TAPS // FACTOR + 1, len(slow) - OFFICIAL_RATE // 5):
            rows.append(fast[FACTOR * t - HALF_TAPS : FACTOR * t + HALF_TAPS + 1].T)
            targets.append(slow[t])
    A, b = np.concatenate(rows), np.concatenate(targets)
    taps = np.linalg.lstsq(A, b, rcond=None)[0]
    residual = np.abs(A @ taps - b)
    return taps, float(np.median(residual))


def gains(taps, rate=RATE):
    """Gain of the filter ``taps`` at ``FREQUENCIES``."""
    _, response = scipy_signal.freqz(taps, worN=np.asarray(FREQUENCIES, dtype=float), fs=rate)
    return {f"{f} Hz": float(abs(g)) for f, g in zip(FREQUENCIES, response)}


def polyphase_taps():
    """The filter ``resample_poly`` applies for a factor of 5 (its defaults)."""
    return scipy_signal.firwin(2 * 10 * FACTOR + 1, 1 / FACTOR, window=("kaiser", 5.0))


def flat_tail(X):
    """Per record, the number of samples at its end over which every lead is constant."""
    lengths = []
    for record in X:
        changes = np.flatnonzero(np.any(record != record[-1], axis=1))
        lengths.append(int(len(record) - 1 - changes[-1]) if len(changes) else len(record))
    return lengths


def with_flat_end(X100, X500):
    """The official copies, each held at its 500 Hz record's last value where that record
    is flat at its end (``flat_tail``)."""
    flat = X100.copy()
    for record, n in enumerate(flat_tail(X500)):
        flat[record, X100.shape[1] - -(-n // FACTOR) :] = X500[record, -1]
    return flat


def measure(pairs, X500, X100, leads500, leads100):
    record_names = [name for name, *_ in pairs]
    flat_end = with_flat_end(X100, X500)
    resampled = {method: function(X500) for method, (_, function) in METHODS.items()}
    parity, methods = (
        {},
        {
            m: {"description": d, "signal": signal_agreement(resampled[m], X100), "models": {}}
            for m, (d, _) in METHODS.items()
        },
    )
    for name in superdiagnostic_models(ensembles=True):
        model = load_pretrained(name)
        classes = [str(c) for c in model.classes_]
        official, warned100 = predict(model, X100, OFFICIAL_RATE, leads100)
        given500, warned500 = predict(model, X500, RATE, leads500)
        held, _ = predict(model, flat_end, OFFICIAL_RATE, leads100)
        parity[name] = {
            **difference(given500, official, record_names, classes),
            "signal_warnings": {"500 Hz": warned500, "100 Hz": warned100},
            "flat_end": difference(given500, held, record_names, classes),
        }
        print(name, parity[name], flush=True)
        if name in MODELS:
            for method in METHODS:
                proba, _ = predict(model, resampled[method], OFFICIAL_RATE, leads500)
                methods[method]["models"][name] = difference(proba, official, record_names, classes)
    return parity, methods


def investigation(X500, X100):
    taps, residual = estimated_filter(X500, X100)
    return {
        "estimated_filter_gain": gains(taps),
        "estimated_filter_median_residual_mv": residual,
        "polyphase_filter_gain": gains(polyphase_taps()),
        "flat_tail_samples_500hz": flat_tail(X500),
        "flat_tail_samples_100hz": flat_tail(X100),
    }


def write_reports(result):
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "resampling.json").write_text(json.dumps(result, indent=2) + "\n")
    text = "\n".join(report_lines(result)) + "\n"
    (RESULTS / "resampling.md").write_text(text)
    print(text)


def report_lines(result):
    parity, methods, why = result["parity"], result["methods"], result["investigation"]
    records = ", ".join(result["records"])
    missed = [name for name, row in parity.items() if row["mean_abs_diff"] > TARGET]
    lines = [
        "# Records at 500 Hz against PTB-XL's 100 Hz copies",
        "",
        f"`{result['command']}` on {result['machine']}. {len(result['records'])} PTB-XL records "
        f"as the PhysioNet/CinC Challenge 2021 distributes them at 500 Hz ({records}), scored as "
        "given (`predict_proba(..., sampling_rate=500, lead_names=...)`, which resamples "
        "them with `resample_poly`), against the official 100 Hz copy of each (PTB-XL folds "
        f"{', '.join(map(str, result['folds']))}; "
        f"{', '.join(result['not_in_folds_1_9']) or 'none'}: fold 10, not used). Absolute "
        "difference of the probabilities over records and classes; target: mean "
        f"<= {TARGET} per model"
        + (f", missed by {', '.join(missed)}." if missed else ", met by every model."),
    ]
    return lines + _parity_lines(parity) + _method_lines(methods) + _filter_lines(why)


def _parity_lines(parity):
    lines = [
        "",
        "## Parity per model",
        "",
        "*Same flat end*: against the official copy held at the 500 Hz record's last value "
        "over the record's flat end (see below), the one difference between the two records "
        "that is not the filter.",
        "",
        "| model | mean abs. difference | max abs. difference | max at | target met "
        "| same flat end: mean (max) |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in parity.items():
        flat = row["flat_end"]
        lines.append(
            f"| {name} | {row['mean_abs_diff']:.4f} | {row['max_abs_diff']:.4f} | "
            f"{row['max_at']} | {'yes' if row['mean_abs_diff'] <= TARGET else 'no'} | "
            f"{flat['mean_abs_diff']:.4f} ({flat['max_abs_diff']:.4f}) |"
        )
    return lines


def _method_lines(methods):
    lines = [
        "",
        "## Resampling methods",
        "",
        "Each method brings the 500 Hz records to 100 Hz; signal: absolute difference from the "
        "official copy in mV (all samples of all leads; *interior*: without the last 0.2 s); "
        "probabilities: mean (max) absolute difference from those of the official copy.",
        "",
        "| method | median abs. mV | p99 abs. mV | median abs. mV interior "
        "| p99 abs. mV interior | " + " | ".join(f"{m} probabilities" for m in MODELS) + " |",
        "|---|---|---|---|---|" + "---|" * len(MODELS),
    ]
    for row in methods.values():
        s = row["signal"]
        cells = [
            f"{row['models'][m]['mean_abs_diff']:.4f} ({row['models'][m]['max_abs_diff']:.4f})"
            for m in MODELS
        ]
        lines.append(
            f"| {row['description']} | {s['median_abs_mv']:.4f} | {s['p99_abs_mv']:.3f} | "
            f"{s['median_abs_mv_interior']:.4f} | {s['p99_abs_mv_interior']:.3f} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def _filter_lines(why):
    estimated, poly = why["estimated_filter_gain"], why["polyphase_filter_gain"]
    return [
        "",
        "## How the official 100 Hz copy was made",
        "",
        f"Gain of the low-pass filter that best makes the official copy from the 500 Hz "
        f"record (least squares, {2 * HALF_TAPS + 1} taps at 500 Hz, median residual "
        f"{why['estimated_filter_median_residual_mv']:.4f} mV, below the copies' 0.001 mV "
        "resolution), and of `resample_poly`'s filter:",
        "",
        "| filter | " + " | ".join(estimated) + " |",
        "|---|" + "---|" * len(estimated),
        "| official copy (estimated) | "
        + " | ".join(f"{g:.3f}" for g in estimated.values())
        + " |",
        "| `resample_poly` | " + " | ".join(f"{g:.3f}" for g in poly.values()) + " |",
        "",
        "Samples at the end of each record over which every lead is constant: 500 Hz "
        f"{', '.join(map(str, why['flat_tail_samples_500hz']))}; official 100 Hz "
        f"{', '.join(map(str, why['flat_tail_samples_100hz']))}.",
    ]


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=Path, default=ROOT.parent / "cinc2021")
    parser.add_argument("--data-home", type=Path, default=None)
    args = parser.parse_args()
    pairs, absent, folds = paired_records(args.records, args.data_home)
    if not pairs:
        raise SystemExit(f"No HR record of {args.records} has its 100 Hz copy in folds 1-9.")
    X500, X100, leads500, leads100 = read_pairs(pairs)
    parity, methods = measure(pairs, X500, X100, leads500, leads100)
    result = {
        **provenance("python benchmarks/resampling.py"),
        "records": [name for name, *_ in pairs],
        "not_in_folds_1_9": absent,
        "folds": folds,
        "target_mean_abs_diff": TARGET,
        "parity": parity,
        "methods": methods,
        "investigation": investigation(X500, X100),
    }
    write_reports(result)


if __name__ == "__main__":
    main()
