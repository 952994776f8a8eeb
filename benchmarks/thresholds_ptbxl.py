"""Decision thresholds on PTB-XL: 0.5, the published ones, and tuned ones.

    python benchmarks/thresholds_ptbxl.py [--data-home DIR] [--models NAME ...]

The models (by default the published CNN, ``cardionet-ptbxl``, and the most
accurate, ``ensemble-ptbxl``) are embedded models trained on folds 1-8 by
``benchmarks/train_pretrained.py`` (or, for an ensemble, built by
``build_ensemble.py``). Fold 9 only reports, under two tuning protocols:

- tuned outside fold 9: ``tune_thresholds`` on the model's probabilities of
  the folds 1-8 records that training held out for early stopping (their
  ecg_ids are in ``benchmarks/results/<model>.json``; an ensemble's, those
  every member held out; a model whose held-out patients have training
  records stops the script), keeping those whose labels a cardiologist
  validated, as every fold-9 label was: records whose labels the weights
  never fitted;
- cross-fitted in fold 9: fold 9 split in two halves by patient, each half
  predicted with thresholds tuned on the other, so that no record's decision
  depends on its own label. This is how thresholds tuned on fold 9 (as the
  shipped model's are) behave on the test fold 10, whose labels were
  validated the same way.

The thresholds shipped with the models were tuned for F1 on all their held-out records
(``calibration_ptbxl.py``, ``build_ensemble.py``), a protocol close to (A).

The minimum-sensitivity policy asks sensitivity >= ``--min-sensitivity`` with
95 % confidence (``confidence_level=0.95``), so that it holds on new records
and not only on the tuning ones.

Writes ``benchmarks/results/thresholds.md`` and ``thresholds.json``.
"""

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from cardionet_sk import (
    PUBLISHED_THRESHOLDS,
    apply_thresholds,
    load_pretrained,
    tune_thresholds,
)
from cardionet_sk.datasets import fetch_ptbxl

from _common import RESULTS, cross_fitted_predictions, ptbxl_data_home
from _common import machine as describe_machine
from calibration_ptbxl import held_out_records

#: The published CardioNet figures on the PTB-XL test fold, as reported with the release.
PUBLISHED = {"macro_f1": 0.44, "micro_f1": 0.57, "HYP_recall": 0.01}


def scores(y, predicted, classes):
    precision, recall, f1, support = precision_recall_fscore_support(y, predicted, zero_division=0)
    micro = precision_recall_fscore_support(y, predicted, average="micro", zero_division=0)
    return {
        "per_class": {
            c: {
                "precision": float(precision[k]),
                "recall": float(recall[k]),
                "f1": float(f1[k]),
                "support": int(support[k]),
            }
            for k, c in enumerate(classes)
        },
        "macro_f1": float(np.mean(f1)),
        "micro_f1": float(micro[2]),
    }


def short(policy):
    """Column title of a policy: its tuning protocol as (A) or (B)."""
    return policy.replace(", tuned outside fold 9", " (A)").replace(
        ", cross-fitted in fold 9", " (B)"
    )


def tuning_policies(min_sensitivity):
    """The two tuned policies, as ``tune_thresholds`` settings."""
    return {
        "F1": {"objective": "f1"},
        f"sensitivity >= {min_sensitivity:g}": {
            "objective": "specificity_at_sensitivity",
            "min_sensitivity": min_sensitivity,
            "confidence_level": 0.95,
        },
    }


def model_policies(data, name, min_sensitivity):
    """Fold-9 scores of each threshold policy for the embedded model ``name``."""
    tune = held_out_records(data, name) & data.frame["validated_by_human"].to_numpy(dtype=bool)
    report = data.fold == 9
    assert not (tune & report).any()
    clf = load_pretrained(name)
    classes = list(clf.classes_)
    # One pass of the network over each part, shared by every policy.
    proba_tune, y_tune = clf.predict_proba(data.data[tune]), data.target[tune]
    y9, patients9 = data.target[report], data.patient_id[report]
    proba9 = clf.predict_proba(data.data[report])

    fixed = {
        "0.5": np.full(len(classes), 0.5),
        "published": np.array([PUBLISHED_THRESHOLDS[c] for c in classes]),
    }
    results = {
        policy: {"thresholds": t, "predicted": apply_thresholds(proba9, t)}
        for policy, t in fixed.items()
    }
    for policy, settings in tuning_policies(min_sensitivity).items():
        thresholds, _ = tune_thresholds(y_tune, proba_tune, **settings)
        results[f"{policy}, tuned outside fold 9"] = {
            "thresholds": thresholds,
            "predicted": apply_thresholds(proba9, thresholds),
        }
        predicted, thresholds = cross_fitted_predictions(proba9, y9, patients9, **settings)
        results[f"{policy}, cross-fitted in fold 9"] = {
            "thresholds": thresholds,
            "predicted": predicted,
        }
    return {
        "tuning_records": int(tune.sum()),
        "fold9_records": int(report.sum()),
        "policies": {
            policy: {
                "thresholds": dict(zip(classes, map(float, r["thresholds"]))),
                **scores(y9, r["predicted"], classes),
            }
            for policy, r in results.items()
        },
    }


def model_table(name, result):
    """The Markdown table of one model: a column per policy, precision / recall / F1."""
    results = result["policies"]
    names = list(results)
    classes = list(results[names[0]]["per_class"])
    lines = [
        f"## {name}",
        "",
        f"Tuned on {result['tuning_records']} held-out records; "
        f"{result['fold9_records']} fold-9 records.",
        "",
        "| class | support | " + " | ".join(map(short, names)) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for c in classes:
        cells = [
            f"{results[n]['per_class'][c]['precision']:.2f} / "
            f"{results[n]['per_class'][c]['recall']:.2f} / "
            f"**{results[n]['per_class'][c]['f1']:.2f}**"
            for n in names
        ]
        lines.append(
            f"| {c} | {results[names[0]]['per_class'][c]['support']} | " + " | ".join(cells) + " |"
        )
    lines.append(
        "| macro F1 | | " + " | ".join(f"**{results[n]['macro_f1']:.3f}**" for n in names) + " |"
    )
    lines.append(
        "| micro F1 | | " + " | ".join(f"{results[n]['micro_f1']:.3f}" for n in names) + " |"
    )
    lines.append(
        "| thresholds | | "
        + " | ".join(" ".join(f"{t:.2f}" for t in results[n]["thresholds"].values()) for n in names)
        + " |"
    )
    return [*lines, ""]


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-home", type=Path, default=None)
    parser.add_argument("--models", nargs="+", default=["cardionet-ptbxl", "ensemble-ptbxl"])
    parser.add_argument("--min-sensitivity", type=float, default=0.6)
    args = parser.parse_args()

    data_home = ptbxl_data_home(args.data_home)
    data = fetch_ptbxl(data_home, folds=range(1, 10), download_if_missing=False)
    results = {name: model_policies(data, name, args.min_sensitivity) for name in args.models}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "thresholds.json").write_text(
        json.dumps({"models": results, "published": PUBLISHED}, indent=2) + "\n"
    )
    command = "python benchmarks/thresholds_ptbxl.py --models " + " ".join(args.models)
    lines = [
        "# Decision thresholds, PTB-XL fold 9",
        "",
        f"`{command}` on {describe_machine()}: embedded models trained on folds 1-8, "
        "reported on fold 9. *(A) tuned outside fold 9*: on the records of folds 1-8 that "
        "training held out, of patients it never saw, with cardiologist-validated labels. "
        "*(B) cross-fitted in fold 9*: each half of fold 9 (split by patient) predicted with "
        "thresholds tuned on the other half (their mean is shown). Sensitivity >= "
        f"{args.min_sensitivity:g} is asked with 95 % confidence. Cells are precision / "
        "recall / F1.",
        "",
    ]
    for name, result in results.items():
        lines += model_table(name, result)
    lines += [
        f"Published CardioNet (test fold, published thresholds): macro F1 "
        f"{PUBLISHED['macro_f1']}, micro F1 {PUBLISHED['micro_f1']}, HYP recall "
        f"{PUBLISHED['HYP_recall']}.",
        "",
    ]
    (RESULTS / "thresholds.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
