"""Decision thresholds on PTB-XL: 0.5, the published ones, and tuned ones.

    python benchmarks/thresholds_ptbxl.py [--data-home DIR] [--model cardionet-ptbxl]

The model is the published CNN trained on folds 1-8 by
``benchmarks/train_pretrained.py`` (the embedded default). Fold 9 only
reports, under two tuning protocols:

- tuned outside fold 9: ``tune_thresholds`` on the model's probabilities of
  the folds 1-8 records that training held out for early stopping (their
  ecg_ids are in ``benchmarks/results/<model>.json``), keeping those of
  patients with no training record and whose labels a cardiologist
  validated, as every fold-9 label was: records whose labels the weights
  never fitted;
- cross-fitted in fold 9: fold 9 split in two halves by patient, each half
  predicted with thresholds tuned on the other, so that no record's decision
  depends on its own label. This is how thresholds tuned on fold 9 (as the
  shipped model's are) behave on the test fold 10, whose labels were
  validated the same way.

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
    CardioNetClassifier,
    apply_thresholds,
    tune_thresholds,
)
from cardionet_sk.datasets import fetch_ptbxl

from _common import RESULTS, cross_fitted_predictions, ptbxl_data_home
from _common import machine as describe_machine

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


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-home", type=Path, default=None)
    parser.add_argument("--model", default="cardionet-ptbxl")
    parser.add_argument("--min-sensitivity", type=float, default=0.6)
    args = parser.parse_args()

    data_home = ptbxl_data_home(args.data_home)
    data = fetch_ptbxl(data_home, folds=range(1, 10), download_if_missing=False)
    held_out = np.isin(
        data.ecg_id, json.loads((RESULTS / f"{args.model}.json").read_text())["validation_ecg_ids"]
    )
    trained_on = (data.fold <= 8) & ~held_out
    tune = (
        held_out
        & ~np.isin(data.patient_id, data.patient_id[trained_on])
        & data.frame["validated_by_human"].to_numpy(dtype=bool)
    )
    report = data.fold == 9
    assert not (tune & report).any()
    clf = CardioNetClassifier.from_pretrained(args.model)
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
        name: {"thresholds": t, "predicted": apply_thresholds(proba9, t)}
        for name, t in fixed.items()
    }
    for name, settings in tuning_policies(args.min_sensitivity).items():
        thresholds, _ = tune_thresholds(y_tune, proba_tune, **settings)
        results[f"{name}, tuned outside fold 9"] = {
            "thresholds": thresholds,
            "predicted": apply_thresholds(proba9, thresholds),
        }
        predicted, thresholds = cross_fitted_predictions(proba9, y9, patients9, **settings)
        results[f"{name}, cross-fitted in fold 9"] = {
            "thresholds": thresholds,
            "predicted": predicted,
        }
    results = {
        name: {
            "thresholds": dict(zip(classes, map(float, r["thresholds"]))),
            **scores(y9, r["predicted"], classes),
        }
        for name, r in results.items()
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "thresholds.json").write_text(
        json.dumps(
            {
                "tuning_records": int(tune.sum()),
                "fold9_records": int(report.sum()),
                "policies": results,
                "published": PUBLISHED,
            },
            indent=2,
        )
        + "\n"
    )

    names = list(results)
    lines = [
        "# Decision thresholds, PTB-XL fold 9",
        "",
        f"`python benchmarks/thresholds_ptbxl.py` on {describe_machine()}: the embedded "
        "published CNN (trained on folds "
        f"1-8), reported on the {report.sum()} records of fold 9. *(A) tuned outside fold 9*: on "
        f"the {tune.sum()} records of folds 1-8 that training held out, of patients it never saw, "
        "with cardiologist-validated labels. *(B) cross-fitted in fold 9*: each half of fold 9 "
        "(split by patient) predicted with thresholds tuned on the other half (their mean is "
        f"shown). Sensitivity >= {args.min_sensitivity:g} is asked with 95 % confidence. Cells "
        "are precision / recall / F1.",
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
    lines += [
        "",
        f"Published CardioNet (test fold, published thresholds): macro F1 "
        f"{PUBLISHED['macro_f1']}, micro F1 {PUBLISHED['micro_f1']}, HYP recall "
        f"{PUBLISHED['HYP_recall']}.",
        "",
    ]
    (RESULTS / "thresholds.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
