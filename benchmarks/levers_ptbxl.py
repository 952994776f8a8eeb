"""Inference-time levers on the embedded superdiagnostic models, measured, not assumed.

    python benchmarks/levers_ptbxl.py [--data-home DIR] [--models NAME ...] [--write-models]

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
- ``one pass`` / ``circular shifts``: the record predicted once, or the mean
  over the record rolled circularly by 0, 1/4, 1/2 and 3/4 of its length
  (``test_time_shifts``), for networks of fixed input length, which the
  published CNN's recipe trains on circularly shifted records.
- ``stacked``: a label-correlation-aware second stage: per class, a logistic
  regression on the logits of all five probabilities, fitted on the held-out
  records (its held-out AUC is out-of-fold, 5-fold grouped by patient).

``--write-models`` writes the circular shifts into an embedded model whose
held-out macro AUC they raise, and takes them out of one whose held-out macro
AUC they do not raise; fold 9 plays no part in it. The model's calibration maps
and thresholds were fitted on the probabilities of one way of predicting: run
``calibration_ptbxl.py --write-models`` after it.

Writes ``benchmarks/results/levers.md`` and ``levers.json``; a run with
``--models`` replaces the rows of those models and keeps the others'.
"""

import argparse
import json
from functools import partial
from pathlib import Path

import numpy as np
from scipy.special import logit
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_predict

from cardionet_sk import load_pretrained
from cardionet_sk.datasets import fetch_ptbxl
from cardionet_sk.hub import EMBEDDED_DIR

from _common import (
    RESULTS,
    macro_auc,
    paired_difference,
    ptbxl_data_home,
    superdiagnostic_models,
)
from _common import machine as describe_machine
from calibration_ptbxl import held_out_records

GAINS = (0.9, 1.0, 1.1)
#: Samples cut at the start of a record, at 100 Hz: 0, 0.25, 0.5 and 0.75 s.
SHIFTS = (0, 25, 50, 75)
#: Circular shifts, in quarters of the network's input length.
QUARTERS = 4
#: Where the card's training text tells of the shipped shifts.
SHIFTS_STEP = " Test-time shifts: "


def crops(clf, aggregation):
    if clf.crop_size is None:
        return None
    return lambda X: clf.set_params(
        crop_inference="sliding", window_aggregation=aggregation
    ).predict_proba(X)


def levers(clf):
    """``{name: predict(X) -> proba}`` of the levers that apply to ``clf``."""
    shipped = {
        "crop_inference": clf.crop_inference,
        "window_aggregation": clf.window_aggregation,
        "test_time_shifts": clf.test_time_shifts,
    }

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
    if clf.crop_size is None:
        for lever, shifts in (("one pass", None), ("circular shifts", quarter_shifts(clf))):
            found[lever] = partial(predict_with_shifts, clf, shipped, shifts)
    return {name: f for name, f in found.items() if f is not None}


def quarter_shifts(clf):
    return [k * clf.n_features_in_ // QUARTERS for k in range(QUARTERS)]


def predict_with_shifts(clf, shipped, shifts, X):
    return clf.set_params(**{**shipped, "test_time_shifts": shifts}).predict_proba(X)


def write_shifts(name, rows):
    """Ship the circular shifts in ``name`` if they raise its held-out macro AUC, else none."""
    if "circular shifts" not in rows:
        return
    better = rows["circular shifts"]["held_out_macro_auc"] > rows["one pass"]["held_out_macro_auc"]
    clf = load_pretrained(name)
    config = clf.pretrained_config_
    clf.set_params(test_time_shifts=quarter_shifts(clf) if better else None)
    # The card's training text up to this step (kept when run again), then this step; the
    # calibration step, which must follow, keeps this text when it rewrites its own.
    training = (config.training or "").split(SHIFTS_STEP)[0].split(" Calibration: ")[0]
    if better:
        training += SHIFTS_STEP + (
            f"the mean over the record rolled circularly by {clf.test_time_shifts} timesteps "
            "(test_time_shifts), which raise the held-out macro AUC from "
            f"{rows['one pass']['held_out_macro_auc']:.4f} to "
            f"{rows['circular shifts']['held_out_macro_auc']:.4f} "
            "(`python benchmarks/levers_ptbxl.py --write-models`)."
        )
    clf.save_pretrained(EMBEDDED_DIR / name, **{**config.resave_arguments(), "training": training})
    print(f"{name}: test_time_shifts={clf.test_time_shifts}", flush=True)


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


def previous_results():
    """The rows of ``levers.json`` so far, each model's with the machine that measured it."""
    path = RESULTS / "levers.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text())["models"]


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-home", type=Path, default=None)
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--write-models", action="store_true")
    args = parser.parse_args()
    data = fetch_ptbxl(
        ptbxl_data_home(args.data_home), folds=range(1, 10), download_if_missing=False
    )
    fold9 = data.fold == 9
    y9 = data.target[fold9]
    machine = describe_machine()
    results = previous_results()
    for name in args.models or superdiagnostic_models():
        clf = load_pretrained(name)
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
        results[name] = {"machine": machine, "levers": {}}
        for lever, (held, on9) in probas.items():
            fold9_gain, fold9_gain_95ci = paired_difference(y9, on9, base9)
            results[name]["levers"][lever] = {
                "held_out_macro_auc": macro_auc(y_held, held),
                "fold9_macro_auc": macro_auc(y9, on9),
                "fold9_gain": fold9_gain,
                "fold9_gain_95ci": fold9_gain_95ci,
            }
            print(name, lever, json.dumps(results[name]["levers"][lever]), flush=True)
        if args.write_models:
            write_shifts(name, results[name]["levers"])

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "levers.json").write_text(json.dumps({"models": results}, indent=2) + "\n")
    lines = [
        "# Inference-time levers, PTB-XL",
        "",
        "`python benchmarks/levers_ptbxl.py` (machines below). Held-out: records of folds 1-8 "
        "that the model did not train on (the stacked second stage: out-of-fold). Gain: "
        "fold-9 macro AUC minus the shipped model's (as shipped when the row was measured), "
        "with a 95 % paired bootstrap interval; an improvement only if the interval lies "
        "above zero.",
        "",
        "| model | lever | held-out macro AUC | fold-9 macro AUC | fold-9 gain (95 % CI) | "
        "machine |",
        "|---|---|---|---|---|---|",
    ]
    for name, model in results.items():
        for lever, r in model["levers"].items():
            low, high = r["fold9_gain_95ci"]
            lines.append(
                f"| {name} | {lever} | {r['held_out_macro_auc']:.4f} | "
                f"{r['fold9_macro_auc']:.4f} | {r['fold9_gain']:+.4f} ({low:+.4f} to "
                f"{high:+.4f}) | {model['machine']} |"
            )
    lines.append("")
    (RESULTS / "levers.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
