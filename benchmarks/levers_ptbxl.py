"""Inference-time levers on the embedded superdiagnostic models, measured, not assumed.

    python benchmarks/levers_ptbxl.py [--data-home DIR] [--models NAME ...]

For each embedded single model (``superdiagnostic_models``), each lever below
turns the same trained network into other probabilities; the table gives the
macro ROC AUC on the records of folds 1-8 the model held out from training and
on fold 9, and the fold-9 difference to the shipped way of predicting with a
95 % paired bootstrap interval (fold-9 records resampled, seed 0). A lever is
an improvement only if that interval lies above zero.

- ``shipped``: ``predict_proba`` as the model is shipped.
- ``sliding mean`` / ``sliding max``: overlapping 2.5 s crops, averaged or
  maxed (the benchmark's evaluation), for networks trained on crops.
- ``whole + sliding``: the mean of the shipped and the ``sliding max``
  probabilities.
- ``TTA gain``: test-time augmentation, the mean over the record scaled by
  0.9, 1.0 and 1.1 (amplitude varies between machines and patients).
- ``TTA shift``: the mean over the record and the record cut by 0.25, 0.5
  and 0.75 s at its start (networks that take any length only).
- ``stacked``: a label-correlation-aware second stage: per class, a logistic
  regression on the logits of all five probabilities, fitted on the held-out
  records (its held-out AUC is out-of-fold, 5-fold grouped by patient).

Writes ``benchmarks/results/levers.md`` and ``levers.json``.
"""

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.special import logit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold, cross_val_predict

from cardionet_sk import CardioNetClassifier
from cardionet_sk.datasets import fetch_ptbxl

from _common import RESULTS, bootstrap, ptbxl_data_home, superdiagnostic_models
from _common import machine as describe_machine
from calibration_ptbxl import held_out_records

GAINS = (0.9, 1.0, 1.1)
#: Samples cut at the start of a record, at 100 Hz: 0, 0.25, 0.5 and 0.75 s.
SHIFTS = (0, 25, 50, 75)


def crops(clf, aggregation):
    if clf.crop_size is None:
        return None
    return lambda X: clf.set_params(
        crop_inference="sliding", window_aggregation=aggregation
    ).predict_proba(X)


def levers(clf):
    """``{name: predict(X) -> proba}`` of the levers that apply to ``clf``."""
    shipped = {"crop_inference": clf.crop_inference, "window_aggregation": clf.window_aggregation}

    def as_shipped(X):
        return clf.set_params(**shipped).predict_proba(X)

    found = {
        "shipped": as_shipped,
        "sliding mean": crops(clf, "mean"),
        "sliding max": crops(clf, "max"),
        "TTA gain": lambda X: np.mean([as_shipped(X * g) for g in GAINS], axis=0),
    }
    if found["sliding max"] is not None and shipped["crop_inference"] == "whole":
        found["whole + sliding"] = lambda X: (as_shipped(X) + found["sliding max"](X)) / 2
    if clf.crop_size is not None and shipped["crop_inference"] == "whole":
        found["TTA shift"] = lambda X: np.mean([as_shipped(X[:, s:]) for s in SHIFTS], axis=0)
    return {name: f for name, f in found.items() if f is not None}


def stacked(y_held, proba_held, groups, proba9):
    """Out-of-fold held-out and fold-9 probabilities of the logistic second stage."""
    features_held, features9 = (logit(np.clip(p, 1e-6, 1 - 1e-6)) for p in (proba_held, proba9))
    out_of_fold, on_fold9 = np.zeros_like(proba_held), np.zeros_like(proba9)
    for k in range(y_held.shape[1]):
        stage = LogisticRegression(C=1.0, max_iter=1000)
        out_of_fold[:, k] = cross_val_predict(
            stage,
            features_held,
            y_held[:, k],
            groups=groups,
            cv=GroupKFold(5),
            method="predict_proba",
        )[:, 1]
        on_fold9[:, k] = stage.fit(features_held, y_held[:, k]).predict_proba(features9)[:, 1]
    return out_of_fold, on_fold9


def macro_auc(y, proba):
    return float(roc_auc_score(y, proba, average="macro"))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-home", type=Path, default=None)
    parser.add_argument("--models", nargs="+", default=None)
    args = parser.parse_args()
    data = fetch_ptbxl(
        ptbxl_data_home(args.data_home), folds=range(1, 10), download_if_missing=False
    )
    fold9 = data.fold == 9
    y9 = data.target[fold9]
    results = {}
    for name in args.models or superdiagnostic_models():
        clf = CardioNetClassifier.from_pretrained(name)
        held_out = held_out_records(data, name)
        y_held = data.target[held_out]
        probas = {
            lever: (predict(data.data[held_out]), predict(data.data[fold9]))
            for lever, predict in levers(clf).items()
        }
        probas["stacked"] = stacked(
            y_held, probas["shipped"][0], data.patient_id[held_out], probas["shipped"][1]
        )
        base9 = probas["shipped"][1]
        results[name] = {}
        for lever, (held, on9) in probas.items():

            def gain(rows, on9=on9, base9=base9):
                return macro_auc(y9[rows], on9[rows]) - macro_auc(y9[rows], base9[rows])

            results[name][lever] = {
                "held_out_macro_auc": macro_auc(y_held, held),
                "fold9_macro_auc": macro_auc(y9, on9),
                "fold9_gain": gain(np.arange(len(y9))),
                "fold9_gain_95ci": bootstrap(gain, len(y9)),
            }
            print(name, lever, json.dumps(results[name][lever]), flush=True)

    machine = describe_machine()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "levers.json").write_text(
        json.dumps({"machine": machine, "models": results}, indent=2) + "\n"
    )
    lines = [
        "# Inference-time levers, PTB-XL",
        "",
        f"`python benchmarks/levers_ptbxl.py` on {machine}. Held-out: records of folds 1-8 "
        "that the model did not train on (the stacked second stage: out-of-fold). Gain: "
        "fold-9 macro AUC minus the shipped model's, with a 95 % paired bootstrap interval; "
        "an improvement only if the interval lies above zero.",
        "",
        "| model | lever | held-out macro AUC | fold-9 macro AUC | fold-9 gain (95 % CI) |",
        "|---|---|---|---|---|",
    ]
    for name, rows in results.items():
        for lever, r in rows.items():
            low, high = r["fold9_gain_95ci"]
            lines.append(
                f"| {name} | {lever} | {r['held_out_macro_auc']:.4f} | "
                f"{r['fold9_macro_auc']:.4f} | {r['fold9_gain']:+.4f} ({low:+.4f} to {high:+.4f}) |"
            )
    lines.append("")
    (RESULTS / "levers.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
