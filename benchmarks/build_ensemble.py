"""Assemble the embedded superdiagnostic ensemble from embedded models.

    python benchmarks/build_ensemble.py [--data-home DIR] [--candidates NAME ...]

Candidates are the embedded single superdiagnostic models (``superdiagnostic_models``,
calibrated by ``calibration_ptbxl.py``), or ``--candidates``. Every candidate
was trained by ``train_pretrained.py`` with seed 0, which holds out patients of
folds 1-8 in one order: 10 % of them are the first half of 20 % (checked: the
``validation_ecg_ids`` must nest). On the records every candidate held out,
which no candidate trained on, every subset of two or
more candidates is scored by the macro ROC AUC of its soft vote (the mean of
the members' probabilities); the best subset becomes the ensemble, and its
thresholds are tuned for F1 on the same records. Fold 9 plays no part in
either choice: it only reports.

Writes the ensemble folder ``cardionet_sk/pretrained/<--name>`` (one
:class:`~cardionet_sk.MultilabelVotingClassifier` folder that refers to its
members, embedded models of the package, rather than holding a copy of each:
``save_pretrained(embedded_members=True)``), ``benchmarks/results/<--name>.json``
(with the held-out ids and the members' summed training time, as
``train_pretrained.py`` writes for a single model) and ``<--name>.md``.
"""

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import roc_auc_score

from cardionet_sk import (
    MultilabelVotingClassifier,
    load_pretrained,
    tune_thresholds,
)
from cardionet_sk.datasets import fetch_ptbxl
from cardionet_sk.hub import EMBEDDED_DIR

from _common import RESULTS, ptbxl_data_home, superdiagnostic_models
from _common import machine as describe_machine
from calibration_ptbxl import evaluate_card, held_out_records


def shared_held_out(data, names):
    """Rows of ``data`` held out from training by every one of ``names``.

    The validation split takes whole patients in one seeded order, so with one seed a
    model that holds out 10 % of the patients holds out the first half of what a 20 %
    model holds out: the held-out sets nest, and the smallest is the one they share.
    """
    held_out = {name: held_out_records(data, name) for name in names}
    smallest = min(names, key=lambda name: held_out[name].sum())
    not_nested = [name for name in names if (held_out[smallest] & ~held_out[name]).any()]
    if not_nested:
        raise RuntimeError(
            f"{not_nested} trained on records that {smallest} held out: an ensemble's "
            "thresholds need records that none of its members trained on; train them with "
            "the same seed."
        )
    return held_out[smallest]


def choose_members(y, probas):
    """The subset of two or more candidates whose soft vote has the best macro AUC."""
    scores = {}
    for size in range(2, len(probas) + 1):
        for subset in itertools.combinations(probas, size):
            mean = np.mean([probas[name] for name in subset], axis=0)
            scores[subset] = float(roc_auc_score(y, mean, average="macro"))
    best = max(scores, key=scores.get)
    return list(best), {" + ".join(k): v for k, v in scores.items()}


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-home", type=Path, default=None)
    parser.add_argument("--candidates", nargs="+", default=None)
    parser.add_argument("--name", default="ensemble-ptbxl")
    args = parser.parse_args()
    candidates = args.candidates or superdiagnostic_models()
    if len(candidates) < 2:
        raise SystemExit(f"An ensemble needs two candidates or more; got {candidates}.")
    data = fetch_ptbxl(
        ptbxl_data_home(args.data_home), folds=range(1, 10), download_if_missing=False
    )
    held_out, fold9 = shared_held_out(data, candidates), data.fold == 9
    y_held, y9 = data.target[held_out], data.target[fold9]
    models = {name: load_pretrained(name) for name in candidates}
    proba_held = {name: clf.predict_proba(data.data[held_out]) for name, clf in models.items()}
    proba9 = {name: clf.predict_proba(data.data[fold9]) for name, clf in models.items()}
    members, subset_scores = choose_members(y_held, proba_held)
    for subset, score in sorted(subset_scores.items(), key=lambda item: -item[1]):
        print(f"held-out macro AUC {score:.4f}: {subset}", flush=True)

    vote_held = np.mean([proba_held[name] for name in members], axis=0)
    thresholds, _ = tune_thresholds(y_held, vote_held)
    ensemble = MultilabelVotingClassifier(
        [(name, FrozenEstimator(models[name])) for name in members], threshold=thresholds
    ).fit(data.data[fold9][:200], y9[:200])  # frozen members: fit only names classes
    vote9 = ensemble.predict_proba(data.data[fold9])
    classes = list(ensemble.classes_)
    card = evaluate_card(y9, vote9, thresholds, classes)
    card["description"] = (
        "PTB-XL fold 9 (2,193 records), the mean of the members' calibrated probabilities. "
        "Members and thresholds (F1) were chosen on records of folds 1-8 held out from "
        "training by patient, so these numbers are not tuned on fold 9."
    )
    trained = {name: json.loads((RESULTS / f"{name}.json").read_text()) for name in members}
    train_minutes = sum(t["train_minutes"] for t in trained.values())
    ensemble.save_pretrained(
        EMBEDDED_DIR / args.name,
        embedded_members=True,
        name="PTB-XL superdiagnostic ensemble",
        description=(
            f"Soft vote (mean of calibrated probabilities) of {', '.join(members)}, trained by "
            "cardionet-sk on PTB-XL folds 1-8; thresholds tuned for F1 on records of folds 1-8 "
            "held out from training by patient."
        ),
        training=(
            f"`python benchmarks/build_ensemble.py` chose the members among "
            f"{', '.join(candidates)} by the macro AUC of their soft vote on the held-out "
            f"records of folds 1-8; the members trained for {train_minutes:.0f} min in all "
            "(see their own cards)."
        ),
        task="superdiagnostic",
        metrics=card,
        repo_id=f"cardionet-sk/{args.name}",
    )
    machine = describe_machine()
    result = {
        "members": members,
        "candidates": candidates,
        "held_out_subset_macro_auc": subset_scores,
        "validation_ecg_ids": [int(i) for i in data.ecg_id[held_out]],
        "train_minutes": train_minutes,
        "machine": machine,
        "thresholds": dict(zip(classes, thresholds.tolist())),
        "fold9": card,
        "fold9_members_macro_auc": {
            name: float(roc_auc_score(y9, proba9[name], average="macro")) for name in candidates
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# {args.name}, PTB-XL fold 9",
        "",
        f"`python benchmarks/build_ensemble.py` on {machine}. Subsets of the candidates scored "
        f"by the macro AUC of their soft vote on the {int(held_out.sum())} records of folds "
        "1-8 that every candidate held out from training (fold 9 only reports):",
        "",
        "| members | held-out macro AUC | fold-9 macro AUC |",
        "|---|---|---|",
    ]
    for subset, score in sorted(subset_scores.items(), key=lambda item: -item[1]):
        names = subset.split(" + ")
        auc9 = roc_auc_score(y9, np.mean([proba9[n] for n in names], axis=0), average="macro")
        chosen = " (chosen)" if names == members else ""
        lines.append(f"| {subset}{chosen} | {score:.4f} | {auc9:.4f} |")
    for name in candidates:
        auc = result["fold9_members_macro_auc"][name]
        held = roc_auc_score(y_held, proba_held[name], average="macro")
        lines.append(f"| {name} alone | {held:.4f} | {auc:.4f} |")
    lines += [
        "",
        f"Chosen ensemble at its thresholds on fold 9: macro AUC {card['macro_auc']:.4f}, "
        f"macro F1 {card['macro_f1']:.3f}.",
        "",
    ]
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
