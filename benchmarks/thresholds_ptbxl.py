"""Decision thresholds on PTB-XL: 0.5, the published ones, and ThresholdOptimizer's.

    python benchmarks/thresholds_ptbxl.py [--data-home DIR] [--model cardionet-ptbxl]

The model is the published CNN trained on folds 1-8 by
``benchmarks/train_pretrained.py`` (the embedded default). Thresholds are tuned
with ``ThresholdOptimizer(cv="prefit")`` on the folds 1-8 records that training
held out for early stopping (their ecg_ids are in
``benchmarks/results/<model>.json``): records whose labels the weights never
fitted, and not the reporting fold. Fold 9 is only used to report.

Writes ``benchmarks/results/thresholds.md`` and ``thresholds.json``.
"""

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from cardionet_sk import PUBLISHED_THRESHOLDS, CardioNetClassifier, ThresholdOptimizer
from cardionet_sk.datasets import fetch_ptbxl

from _common import RESULTS, ptbxl_data_home

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
    held_out = json.loads((RESULTS / f"{args.model}.json").read_text())["validation_ecg_ids"]
    tune = np.isin(data.ecg_id, held_out)
    report = data.fold == 9
    assert not (tune & report).any()
    clf = CardioNetClassifier.from_pretrained(args.model)
    classes = list(clf.classes_)
    X_tune, y_tune = data.data[tune], data.target[tune]
    X9, y9 = data.data[report], data.target[report]
    proba9 = clf.predict_proba(X9)

    policies = {
        "0.5": np.full(5, 0.5),
        "published": np.array([PUBLISHED_THRESHOLDS[c] for c in classes]),
    }
    tuned = {
        "tuned F1": ThresholdOptimizer(clf, objective="f1", cv="prefit"),
        f"tuned sensitivity >= {args.min_sensitivity:g}": ThresholdOptimizer(
            clf,
            objective="specificity_at_sensitivity",
            min_sensitivity=args.min_sensitivity,
            cv="prefit",
        ),
    }
    for name, optimizer in tuned.items():
        policies[name] = optimizer.fit(X_tune, y_tune).thresholds_
    results = {
        name: {
            "thresholds": dict(zip(classes, map(float, t))),
            **scores(y9, (proba9 >= t).astype(int), classes),
        }
        for name, t in policies.items()
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
        f"`python benchmarks/thresholds_ptbxl.py`: the embedded published CNN (trained on folds "
        f"1-8); thresholds tuned on the {tune.sum()} folds 1-8 records held out from its "
        f"training, reported on the {report.sum()} records of fold 9. Cells are "
        "precision / recall / F1.",
        "",
        "| class | support | " + " | ".join(names) + " |",
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
