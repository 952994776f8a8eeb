"""Performance of every embedded model by sex and age band, on PTB-XL fold 9.

    python benchmarks/subgroups_ptbxl.py [--data-home DIR] [--bootstrap 1000] [--write-models]

For each superdiagnostic model and ensemble of ``superdiagnostic_models``, with its
shipped (possibly calibrated) probabilities and its shipped thresholds, and for each subgroup of
fold 9 (all records; male, female; age < 40, 40-59, 60-79, >= 80, and the records
of unknown age, if any): record count, positives per class, macro and per-class
ROC AUC, and per-class sensitivity and specificity, each with a 95 % bootstrap
interval (the subgroup's records resampled with replacement, seed 0). A class
with fewer than ``MIN_COUNT`` positive (or negative) records in a subgroup has no
AUC and no sensitivity (or specificity) there, and the subgroup no macro AUC (or
mean sensitivity, or specificity): a mean over fewer classes would not compare
with the others. A resample in which a class has one value leaves that class out
of its means.

PTB-XL codes ages above 89 as 300: such records fall in the ``>= 80`` band.

Writes ``benchmarks/results/subgroups.json`` and ``subgroups.md``. With
``--write-models``, also stores each model's results as ``metrics["subgroups"]``
of its embedded folder, where its model card and ``cardionet info`` show them
(schema: :mod:`cardionet_sk.hub._card`).
"""

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

from cardionet_sk import (
    MultilabelVotingClassifier,
    apply_thresholds,
    load_pretrained,
)
from cardionet_sk.datasets import fetch_ptbxl
from cardionet_sk.hub import EMBEDDED_DIR, ENSEMBLE_CARD_FIELDS
from cardionet_sk.hub._card import subgroup_tables

from _common import RESULTS, ptbxl_data_home, superdiagnostic_models
from _common import machine as describe_machine

#: Fewest positive (or negative) records of a class for a subgroup to report its scores.
MIN_COUNT = 5
#: Age bands as [low, high) in years; the PTB-XL code 300 (older than 89) is >= 80.
AGE_BANDS = {
    "age < 40": (0, 40),
    "age 40-59": (40, 60),
    "age 60-79": (60, 80),
    "age >= 80": (80, np.inf),
}
#: Per-class scores, in the order of :func:`class_scores`.
SCORES = ("auc", "sensitivity", "specificity")
#: Mean over the classes of each score, as stored.
MEANS = ("macro_auc", "mean_sensitivity", "mean_specificity")
DIGITS = 4


def subgroup_masks(age, sex):
    """Boolean mask of each subgroup's records; ``age unknown`` only if some are."""
    masks = {"all": np.ones(len(age), dtype=bool), "male": sex == 0, "female": sex == 1}
    # NaN compares False: records of unknown age fall in no band.
    masks.update({name: (age >= low) & (age < high) for name, (low, high) in AGE_BANDS.items()})
    if np.isnan(age).any():
        masks["age unknown"] = np.isnan(age)
    return masks


def class_scores(y, proba, predicted):
    """AUC, sensitivity and specificity of each class, shape (3, n_classes).

    AUC is the Mann-Whitney statistic from average ranks, ties counted as half
    (what ``roc_auc_score`` computes), for all classes at once: the bootstrap
    calls this thousands of times. A score is NaN where the class has no
    positive (or no negative) record.
    """
    positives = y.sum(axis=0)
    negatives = len(y) - positives
    ranks = rankdata(proba, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((ranks * y).sum(axis=0) - positives * (positives + 1) / 2) / (positives * negatives)
        sensitivity = (predicted * y).sum(axis=0) / positives
        specificity = ((1 - predicted) * (1 - y)).sum(axis=0) / negatives
    auc[(positives == 0) | (negatives == 0)] = np.nan
    return np.stack([auc, sensitivity, specificity])


def nanmean_classes(scores):
    """Mean over the last axis (classes) of the non-NaN scores; NaN where there are none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "Mean of empty slice": NaN is meant
        return np.nanmean(scores, axis=-1)


def subgroup_result(y, proba, predicted, classes, n_bootstrap, seed=0):
    """Scores of one subgroup and their bootstrap intervals, as stored in a model's metrics."""
    positives = y.sum(axis=0)
    negatives = len(y) - positives
    enough_positives, enough_negatives = positives >= MIN_COUNT, negatives >= MIN_COUNT
    # Rows as SCORES: AUC needs both, sensitivity positives, specificity negatives.
    reportable = np.stack([enough_positives & enough_negatives, enough_positives, enough_negatives])
    rng = np.random.default_rng(seed)
    resamples = []
    for _ in range(n_bootstrap):
        rows = rng.integers(0, len(y), len(y))
        resamples.append(class_scores(y[rows], proba[rows], predicted[rows]))
    scores = np.where(reportable, class_scores(y, proba, predicted), np.nan)
    # A class with one value in a resample is left out of that resample's means (NaN).
    resamples = np.stack(resamples)
    means = np.where(reportable.all(axis=1), np.mean(scores, axis=1), np.nan)
    mean_resamples = nanmean_classes(resamples)
    result = {"n": len(y), "positives": dict(zip(classes, positives.astype(int).tolist()))}
    for k, name in enumerate(MEANS):
        result[name], result[f"{name}_95ci"] = estimate(means[k], mean_resamples[:, k])
    result["per_class"] = {}
    for j, class_name in enumerate(classes):
        row = {}
        for k, name in enumerate(SCORES):
            row[name], row[f"{name}_95ci"] = estimate(scores[k, j], resamples[:, k, j])
        result["per_class"][class_name] = row
    return result


def estimate(value, resamples):
    """A score and its 95 % percentile interval as JSON numbers; ``None`` for NaN."""
    resamples = resamples[~np.isnan(resamples)]
    if np.isnan(value) or not len(resamples):
        return None, None
    interval = np.percentile(resamples, [2.5, 97.5])
    return round(float(value), DIGITS), [round(float(v), DIGITS) for v in interval]


def model_subgroups(clf, X, y, masks, classes, n_bootstrap):
    """``metrics["subgroups"]`` of one model: its shipped probabilities and thresholds."""
    proba = clf.predict_proba(X)
    predicted = apply_thresholds(proba, clf.threshold)
    return {
        "dataset": "PTB-XL fold 9",
        "n_bootstrap": n_bootstrap,
        "min_count": MIN_COUNT,
        "thresholds": {c: round(float(t), DIGITS) for c, t in zip(classes, clf.threshold)},
        "groups": {
            name: subgroup_result(y[mask], proba[mask], predicted[mask], classes, n_bootstrap)
            for name, mask in masks.items()
        },
    }


def write_model(name, model, subgroups):
    """Store ``subgroups`` in the metrics of the embedded model (or ensemble) folder ``name``."""
    config = model.pretrained_config_
    if isinstance(model, MultilabelVotingClassifier):
        card = {field: getattr(config, field) for field in ENSEMBLE_CARD_FIELDS}
        # As it was stored: members that are embedded models stay references to them.
        card["embedded_members"] = all(m.embedded for m in config.members)
    else:
        card = config.resave_arguments()
    metrics = {**(card.get("metrics") or {}), "subgroups": subgroups}
    model.save_pretrained(EMBEDDED_DIR / name, **{**card, "metrics": metrics})


def write_reports(results, command, machine, ages):
    """``subgroups.json`` and ``subgroups.md``, with the command and the machine."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "subgroups.json").write_text(
        json.dumps({"command": command, "machine": machine, "models": results}, indent=2) + "\n"
    )
    lines = [
        "# PTB-XL subgroups, fold 9",
        "",
        f"`{command}` on {machine}. Every embedded model with its shipped probabilities and "
        "thresholds, on the fold-9 records by sex and age band (PTB-XL codes ages above 89 as "
        f"300, counted in age >= 80; {ages}). Intervals: 95 % bootstrap, the subgroup's "
        "records resampled with replacement. Sensitivity and specificity are at the shipped "
        "thresholds; where those were tuned on fold 9 (see each model's card) they are "
        f"optimistic. n/a: fewer than {MIN_COUNT} positive or negative records of the class in "
        "the subgroup (and then no macro or mean value).",
        "",
        *subgroup_tables(results),
        "",
    ]
    (RESULTS / "subgroups.md").write_text("\n".join(lines))
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-home", type=Path, default=None)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument(
        "--write-models",
        action="store_true",
        help="store the results in the metrics of the embedded model folders",
    )
    args = parser.parse_args()
    data_home = ptbxl_data_home(args.data_home, folds=[9])
    data = fetch_ptbxl(data_home, folds=[9], download_if_missing=False)
    X, y = np.asarray(data.data), np.asarray(data.target)
    classes = [str(c) for c in data.target_names]
    masks = subgroup_masks(data.age, data.sex)

    results = {}
    for name in superdiagnostic_models(ensembles=True):
        clf = load_pretrained(name)
        results[name] = model_subgroups(clf, X, y, masks, classes, args.bootstrap)
        if args.write_models:
            write_model(name, clf, results[name])
    command = f"python benchmarks/subgroups_ptbxl.py --bootstrap {args.bootstrap}"
    ages = (
        f"{int((data.age >= 300).sum())} records coded 300, "
        f"{int(np.isnan(data.age).sum())} of unknown age"
    )
    write_reports(results, command, describe_machine(), ages)


if __name__ == "__main__":
    main()
