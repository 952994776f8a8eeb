"""Adapt the embedded models' probabilities to populations of other prevalences (fold 9).

    python benchmarks/prior_shift.py [--data-home DIR] [--seeds 5] [--n-records 2000]
    python benchmarks/prior_shift.py --write-priors [--data-home DIR]

The embedded models are calibrated on the records of folds 1-8 held out from their
training (``calibration_ptbxl.py``), at those records' prevalences: about 45 % NORM.
``--write-priors`` writes these prevalences, per class, into each embedded
superdiagnostic model's ``config.json`` as ``calibration_priors`` (the held-out records
are those ``calibration_ptbxl.py`` fits the maps on: ``held_out_records``); nothing
else of the config changes, so the models predict as before.

The benchmark scores fold 9 once per model (the default model, ``hub.DEFAULT_MODEL``, and
``ensemble-ptbxl``; probabilities cached in ``benchmarks/runs/prior_shift/``) and
resamples it, with replacement, to prevalences far from PTB-XL's: one class at a time
(NORM 15 % and 70 %, MI 5 % and 30 %, HYP 3 % and 25 %), its positives and negatives
drawn separately so that the class hits its target exactly, ``--n-records`` records per
sample, ``--seeds`` samples per target. The other classes' prevalences move with it, as
they would in such a population. On each sample, and on fold 9 as it is,
:class:`~cardionet_sk.PriorShiftAdaptedClassifier` estimates every class's prevalence
from the sample's unlabelled records (EM, the default; BBSE too, with the labelled
held-out records of folds 1-8 as source data) and adjusts the probabilities. Reported,
before and after: per-class expected calibration error (``calibration_ptbxl.py``'s
definition: 15 equal-width bins) and Brier score, macro F1 at the model's thresholds
moved by each threshold rule, and the prevalence estimation error.

Writes ``benchmarks/results/prior_shift.json`` and ``prior_shift.md``.
"""

import argparse
import datetime
import hashlib
import json
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.stats import chi2
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import brier_score_loss, f1_score

import cardionet_sk
from cardionet_sk import (
    CardioNetClassifier,
    MultilabelVotingClassifier,
    PriorShiftAdaptedClassifier,
    adjust_probabilities,
    estimate_priors_em,
)
from cardionet_sk._prior_shift import pretrained_priors
from cardionet_sk._priors import shift_test
from cardionet_sk.datasets import fetch_ptbxl
from cardionet_sk.hub import DEFAULT_MODEL, EMBEDDED_DIR, ENSEMBLE_NAME, ModelConfig
from cardionet_sk.hub._config import CARD_FIELDS

from _common import RESULTS, ROOT, provenance, ptbxl_data_home, superdiagnostic_models
from _common import machine as describe_machine
from calibration_ptbxl import expected_calibration_error, held_out_records

MODELS = (DEFAULT_MODEL, "ensemble-ptbxl")
#: Target prevalences of the class shifted in each sample.
SHIFTS = {"NORM": (0.15, 0.70), "MI": (0.05, 0.30), "HYP": (0.03, 0.25)}
AS_IS = "fold 9 as is"
RUNS = ROOT / "benchmarks" / "runs" / "prior_shift"
#: Targets of the issue: ECE after adaptation where it was above ECE_BAD before, and the
#: prevalence error.
ECE_BAD, ECE_GOOD, PRIOR_ERROR = 0.05, 0.03, 0.03
#: Level of the significance gate (``shift_alpha``) of the gated EM variant, and the
#: strengths (pseudo-records at the source prevalence) of the MAP-EM variants. Chosen on the
#: calibration records of folds 1-8 (the source), never on fold 9: see ``source_null``.
SHIFT_ALPHA = 0.05
MAP_STRENGTHS = (100, 300)
#: Variants compared against plain EM (the default) in the levers table, with their labels.
VARIANTS = {
    "em": "EM (default)",
    "em_gated": f"EM, gate shift_alpha={SHIFT_ALPHA}",
    "em_mean_source": "EM, source priors = mean calibrated probability",
    **{f"map_em_{s}": f"MAP-EM, Beta prior of {s} pseudo-records" for s in MAP_STRENGTHS},
    "bbse": "BBSE",
}


# -- calibration priors of the embedded models --------------------------------------------


def write_priors(data):
    """Write each embedded superdiagnostic model's ``calibration_priors``: the prevalence
    of each class among the held-out records its calibration maps were fitted on."""
    written = {}
    for name in superdiagnostic_models():
        folder = EMBEDDED_DIR / name
        config = ModelConfig.read(folder, architectures=None)
        held_out = held_out_records(data, name)
        priors = [float(v) for v in data.target[held_out].mean(axis=0)]
        if config.calibration is None:
            raise RuntimeError(f"{name} is not calibrated: run calibration_ptbxl.py first.")
        updated = replace(config, calibration_priors=priors).validated()
        before = {k: v for k, v in config.to_dict().items() if k != "calibration_priors"}
        after = {k: v for k, v in updated.to_dict().items() if k != "calibration_priors"}
        assert before == after, f"{name}: only calibration_priors may change"
        updated.write(folder / "config.json")
        written[name] = {"held_out_records": int(held_out.sum()), "priors": priors}
        print(f"{name}: {int(held_out.sum())} held-out records, priors {np.round(priors, 4)}")
    return written


# -- probabilities, computed once per model ------------------------------------------------


def load_model(name):
    if (EMBEDDED_DIR / name / ENSEMBLE_NAME).is_file():
        return MultilabelVotingClassifier.from_pretrained(name)
    return CardioNetClassifier.from_pretrained(name)


def fingerprint(folder):
    """What makes a model's probabilities: its config but for the card (and the priors),
    and its weights; for an ensemble, its members' and their weights in the vote."""
    digest = hashlib.sha256()
    ensemble = folder / ENSEMBLE_NAME
    if ensemble.is_file():
        config = json.loads(ensemble.read_text())
        digest.update(json.dumps([config["members"], config["classes"]]).encode())
        for member in config["members"]:
            base = EMBEDDED_DIR if member.get("embedded") else folder / "members"
            digest.update(fingerprint(base / member["name"]).encode())
        return digest.hexdigest()
    config = json.loads((folder / "config.json").read_text())
    for key in (*CARD_FIELDS, "cardionet_sk_version"):
        config.pop(key, None)
    digest.update(json.dumps(config, sort_keys=True).encode())
    digest.update((folder / config["weights"]).read_bytes())
    return digest.hexdigest()


def cached_proba(name, model, X, ecg_ids, part):
    """The model's probabilities of ``X``, read from ``benchmarks/runs/prior_shift/`` when
    they were computed for the same records by the same model."""
    RUNS.mkdir(parents=True, exist_ok=True)
    path, meta_path = RUNS / f"{name}-{part}.npy", RUNS / f"{name}-{part}.json"
    meta = {
        "model": fingerprint(EMBEDDED_DIR / name),
        "ecg_ids": hashlib.sha256(np.asarray(ecg_ids, dtype=np.int64).tobytes()).hexdigest(),
    }
    if path.is_file() and meta_path.is_file() and json.loads(meta_path.read_text()) == meta:
        return np.load(path)
    start = time.perf_counter()
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    print(f"{name}: {part} scored in {time.perf_counter() - start:.0f} s", flush=True)
    np.save(path, proba)
    meta_path.write_text(json.dumps(meta) + "\n")
    return proba


class CachedProbabilities(ClassifierMixin, BaseEstimator):
    """A fitted classifier whose "records" are row numbers of probabilities computed once:
    the adapter under test reads them as it would read the model's."""

    def __init__(self, proba, classes):
        self.proba = proba
        self.classes = classes

    def fit(self, X, y=None):
        return self

    def __sklearn_is_fitted__(self):
        return True

    @property
    def classes_(self):
        return np.asarray(self.classes, dtype=object)

    def predict_proba(self, X):
        return self.proba[np.asarray(X, dtype=int).ravel()]


# -- samples and scores --------------------------------------------------------------------


def resample(y, k, prevalence, n_records, rng):
    """Rows of ``y`` drawn with replacement: ``round(prevalence * n_records)`` positives of
    class ``k``, the rest negatives."""
    n_positive = int(round(prevalence * n_records))
    positives, negatives = np.flatnonzero(y[:, k] == 1), np.flatnonzero(y[:, k] == 0)
    return np.concatenate(
        [
            rng.choice(positives, n_positive, replace=True),
            rng.choice(negatives, n_records - n_positive, replace=True),
        ]
    )


def calibration_scores(y, proba):
    """Per-class ECE and Brier score."""
    return {
        "ece": [expected_calibration_error(y[:, k], proba[:, k]) for k in range(y.shape[1])],
        "brier": [float(brier_score_loss(y[:, k], proba[:, k])) for k in range(y.shape[1])],
    }


def macro_f1(y, predicted):
    return float(f1_score(y, predicted, average="macro", zero_division=0))


def map_em(proba, source, strength, tol=1e-6, max_iter=1000):
    """EM with a Beta prior on each prevalence, centred on ``source`` and worth
    ``strength`` records: the M-step is ``(sum of posteriors + strength * source) /
    (n + strength)``, a maximum a posteriori estimate shrunk toward the source."""
    priors = source.copy()
    for _ in range(max_iter):
        new = (adjust_probabilities(proba, source, priors).sum(axis=0) + strength * source) / (
            len(proba) + strength
        )
        done = np.abs(new - priors).max() < tol
        priors = new
        if done:
            break
    return priors


def score_sample(rows, y_all, lookup, source, thresholds, source_rows, y_source, mean_source):
    """Before and after adaptation on ``rows`` (row numbers of ``lookup``); BBSE takes the
    labelled ``source_rows`` as its source records. ``mean_source``: the mean calibrated
    probability of the source records, the source priors of one variant."""
    y = y_all[rows]
    X = rows[:, np.newaxis]
    frozen = FrozenEstimator(lookup)
    settings = {"source_priors": source, "threshold": thresholds}
    em = PriorShiftAdaptedClassifier(frozen, **settings).fit(X)
    by_probability = PriorShiftAdaptedClassifier(
        frozen, **settings, threshold_rule="probability"
    ).fit(X)
    X_bbse = np.concatenate([source_rows, rows])[:, np.newaxis]
    y_bbse = np.concatenate([y_source, -np.ones_like(y)])
    bbse = PriorShiftAdaptedClassifier(frozen, method="bbse", **settings).fit(X_bbse, y_bbse)
    gated = PriorShiftAdaptedClassifier(frozen, **settings, shift_alpha=SHIFT_ALPHA).fit(X)
    raw = lookup.predict_proba(X)
    true = y.mean(axis=0)

    def variant(base, priors):
        """Scores of ``raw`` moved from ``base`` to the estimated ``priors``."""
        return {
            **calibration_scores(y, adjust_probabilities(raw, base, priors)),
            "priors": priors.tolist(),
            "error": (priors - true).tolist(),
        }

    mean_priors = estimate_priors_em(raw, mean_source)[0]
    variants = {
        "em_gated": {
            **variant(source, gated.target_priors_),
            "shift_pvalues": gated.shift_pvalues_.tolist(),
            "adapted": gated.shift_adapted_.tolist(),
        },
        "em_mean_source": variant(mean_source, mean_priors),
        **{
            f"map_em_{s}": variant(source, np.clip(map_em(raw, source, s), 1e-6, 1 - 1e-6))
            for s in MAP_STRENGTHS
        },
    }
    # The adjustment at the true prevalences: what a perfect estimate would give.
    oracle = adjust_probabilities(raw, source, np.clip(true, 1e-6, 1 - 1e-6))
    return {
        "true_priors": true.tolist(),
        "before": {
            **calibration_scores(y, raw),
            "macro_f1": macro_f1(y, (raw >= thresholds).astype(int)),
        },
        "em": {
            **calibration_scores(y, em.predict_proba(X)),
            "priors": em.target_priors_.tolist(),
            "error": (em.target_priors_ - true).tolist(),
            "n_iter": em.n_iter_.tolist(),
            "converged": bool(em.converged_.all()),
            "macro_f1_likelihood_ratio": macro_f1(y, em.predict(X)),
            "macro_f1_probability": macro_f1(y, by_probability.predict(X)),
            "thresholds_likelihood_ratio": em.thresholds_.tolist(),
        },
        "bbse": {
            **calibration_scores(y, bbse.predict_proba(X)),
            "priors": bbse.target_priors_.tolist(),
            "error": (bbse.target_priors_ - true).tolist(),
            "condition_numbers": bbse.condition_numbers_.tolist(),
        },
        "oracle": calibration_scores(y, oracle),
        **variants,
    }


def source_null(proba_held, source, n_records, n_boot=200):
    """How the gate behaves without a shift, on the source side: the calibration records
    bootstrapped to ``n_records``, EM and its likelihood-ratio test on each; the share of
    bootstraps each class is adapted in at ``SHIFT_ALPHA`` (about ``SHIFT_ALPHA`` if the
    test holds its level) and the 95th percentile of the statistic (3.84 for chi2(1))."""
    rng = np.random.default_rng(0)
    statistics, errors = [], []
    for _ in range(n_boot):
        proba = proba_held[rng.integers(0, len(proba_held), n_records)]
        priors = estimate_priors_em(proba, source)[0]
        statistics.append(shift_test(proba, source, priors)[0])
        errors.append(np.abs(priors - source))
    statistics = np.asarray(statistics)
    return {
        "n_boot": n_boot,
        "n_records": n_records,
        "adapted_share": (statistics > chi2_isf(SHIFT_ALPHA)).mean(axis=0).tolist(),
        "statistic_95th": np.quantile(statistics, 0.95, axis=0).tolist(),
        "em_deviation_95th": np.quantile(errors, 0.95, axis=0).tolist(),
    }


def chi2_isf(alpha):
    return float(chi2.isf(alpha, 1))


def population_samples(population, y_all, classes, n_records, seeds, score):
    """The ``population`` rows as they are, then resampled to each shift with each seed."""
    samples = [{"sample": AS_IS, "shifted": None, "seed": None, **score(population)}]
    y = y_all[population]
    for shifted, prevalences in SHIFTS.items():
        k = classes.index(shifted)
        for prevalence in prevalences:
            for seed in range(seeds):
                rows = population[
                    resample(y, k, prevalence, n_records, np.random.default_rng(seed))
                ]
                samples.append(
                    {
                        "sample": f"{shifted} {prevalence:.0%}",
                        "shifted": shifted,
                        "seed": seed,
                        **score(rows),
                    }
                )
    return samples


def benchmark_model(name, data, n_records, seeds):
    """Every sample of one model, of fold 9 and (a diagnostic) of the calibration records."""
    model = load_model(name)
    classes = list(model.classes_)
    fold9 = np.flatnonzero(data.fold == 9)
    held_out = np.flatnonzero(held_out_records(data, name))
    proba9 = cached_proba(name, model, data.data[fold9], data.ecg_id[fold9], "fold9")
    proba_held = cached_proba(name, model, data.data[held_out], data.ecg_id[held_out], "held_out")
    source = pretrained_priors(model)
    if source is None:
        raise SystemExit(f"{name} has no calibration_priors: run this script with --write-priors.")
    thresholds = np.asarray(model.threshold, dtype=np.float64)
    # Lever (a): the mean calibrated probability of the calibration records, the fixed
    # point of EM on them (their label prevalence is `source`).
    mean_source = proba_held.mean(axis=0)
    # One table of probabilities: fold 9, then the held-out records.
    lookup = CachedProbabilities(np.vstack([proba9, proba_held]), classes)
    y_all = np.vstack([data.target[fold9], data.target[held_out]])
    fold9_rows = np.arange(len(fold9))
    held_out_rows = len(fold9) + np.arange(len(held_out))

    def score(rows):
        return score_sample(
            rows,
            y_all,
            lookup,
            source,
            thresholds,
            held_out_rows,
            y_all[held_out_rows],
            mean_source,
        )

    return {
        "classes": classes,
        "source_priors": source.tolist(),
        "mean_source_probability": mean_source.tolist(),
        "source_null": source_null(proba_held, source, len(fold9)),
        "thresholds": thresholds.tolist(),
        "fold9_records": len(fold9),
        "held_out_records": len(held_out),
        "fold9": population_samples(fold9_rows, y_all, classes, n_records, seeds, score),
        # The records the calibration maps were fitted on, resampled the same way: there
        # the probabilities are calibrated by construction (in-sample), and what is left
        # is the estimation itself.
        "calibration_records": population_samples(
            held_out_rows, y_all, classes, n_records, seeds, score
        ),
    }


# -- targets and report ---------------------------------------------------------------------


def check_targets(results, key="em", population="fold9"):
    """The issue's three targets on ``population`` (fold 9) for the variant ``key`` (plain
    EM), each with the cases that miss it; the first two also for the shifted class
    alone."""
    ece = {"all": [0, []], "shifted": [0, []]}
    errors = {"all": [], "shifted": []}
    worse = []
    for name, result in results.items():
        for sample in result[population]:
            label = f"{name}, {sample['sample']}, seed {sample['seed']}"
            for k, c in enumerate(result["classes"]):
                before, after = sample["before"]["ece"][k], sample[key]["ece"][k]
                parts = ["all"] + (["shifted"] if c == sample["shifted"] else [])
                for part in parts:
                    errors[part].append(abs(sample[key]["error"][k]))
                if sample["sample"] == AS_IS:
                    if after > before:
                        worse.append(f"{name} {c}: {before:.4f} -> {after:.4f}")
                elif before > ECE_BAD:
                    for part in parts:
                        if after <= ECE_GOOD:
                            ece[part][0] += 1
                        else:
                            ece[part][1].append(f"{label}, {c}: {before:.3f} -> {after:.3f}")
    return {
        "ece": {
            part: {"cases": met + len(misses), "met": met, "misses": misses}
            for part, (met, misses) in ece.items()
        },
        "prevalence": {
            part: {
                "cases": len(values),
                "within": int((np.asarray(values) <= PRIOR_ERROR).sum()),
                "largest_error": float(np.max(values)),
            }
            for part, values in errors.items()
        },
        "fold9_as_is_worse": worse,
    }


def levers_table(results):
    """Each variant's targets, per model, on fold 9 and on the calibration records."""
    lines = [
        "## Levers",
        "",
        "Each variant of the estimate, on fold 9 and (source side) on the calibration records "
        "resampled the same way; the gate's level and the MAP strengths were chosen on the "
        "source side only. ECE: shifted-class cases with ECE ≤ "
        f"{ECE_GOOD} after adaptation among those above {ECE_BAD} before (all classes in "
        "brackets); the largest prevalence error of the shifted class (all classes in "
        "brackets); the classes whose ECE on the population as it is got worse (by more "
        "than 0.0005).",
        "",
        "| model | variant | fold 9: ECE target | fold 9: largest error | fold 9 as is: worse "
        "| source: ECE target | source: largest error | source as is: worse |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, result in results.items():
        for key, label in VARIANTS.items():
            cells = []
            for population in ("fold9", "calibration_records"):
                t = check_targets({name: result}, key, population)
                as_is = next(s for s in result[population] if s["sample"] == AS_IS)
                worse = [
                    f"{c} {as_is['before']['ece'][k]:.3f} → {as_is[key]['ece'][k]:.3f}"
                    for k, c in enumerate(result["classes"])
                    if as_is[key]["ece"][k] > as_is["before"]["ece"][k] + 0.0005
                ]
                cells += [
                    f"{t['ece']['shifted']['met']}/{t['ece']['shifted']['cases']} "
                    f"({t['ece']['all']['met']}/{t['ece']['all']['cases']})",
                    f"{t['prevalence']['shifted']['largest_error']:.3f} "
                    f"({t['prevalence']['all']['largest_error']:.3f})",
                    ", ".join(worse) or "none",
                ]
            lines.append(f"| {name} | {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "The gate without a shift (source side): the calibration records bootstrapped to "
        "fold 9's size, the share of bootstraps in which each class is adapted at "
        f"shift_alpha={SHIFT_ALPHA}, and the gate's p-values on fold 9 as it is.",
        "",
        "| model | adapted share, no shift | p-value, fold 9 as is |",
        "|---|---|---|",
    ]
    for name, result in results.items():
        null = result["source_null"]
        as_is = next(s for s in result["fold9"] if s["sample"] == AS_IS)
        lines.append(
            f"| {name} | "
            + " / ".join(f"{c} {v:.2f}" for c, v in zip(result["classes"], null["adapted_share"]))
            + " | "
            + " / ".join(
                f"{c} {v:.2g}"
                for c, v in zip(result["classes"], as_is["em_gated"]["shift_pvalues"])
            )
            + " |"
        )
    return lines


def _mean(samples, part, key, k=None):
    values = [s[part][key] if k is None else s[part][key][k] for s in samples]
    return float(np.mean(values))


def _groups(samples):
    groups = {}
    for sample in samples:
        groups.setdefault(sample["sample"], []).append(sample)
    return groups


def model_tables(name, result):
    classes = result["classes"]
    groups = _groups(result["fold9"])
    source = ", ".join(f"{c} {p:.3f}" for c, p in zip(classes, result["source_priors"]))
    lines = [
        f"## {name}",
        "",
        f"Source prevalences (`calibration_priors`): {source}. Each cell is the mean over "
        "the samples of a row. ECE and Brier: before → after EM adaptation (in brackets, "
        "after adjusting to the true prevalences, a perfect estimate). Macro F1 at the "
        'model\'s thresholds: before, which `threshold_rule="likelihood_ratio"` keeps '
        '(it changes no label) / after, with `threshold_rule="probability"`.',
        "",
        "| sample | n | " + " | ".join(f"ECE {c}" for c in classes) + " | mean Brier | macro F1 |",
        "|---|---|" + "---|" * (len(classes) + 2),
    ]
    for label, samples in groups.items():
        cells = [
            f"{_mean(samples, 'before', 'ece', k):.3f} → {_mean(samples, 'em', 'ece', k):.3f} "
            f"({_mean(samples, 'oracle', 'ece', k):.3f})"
            for k in range(len(classes))
        ]
        brier = [
            np.mean([np.mean(s[part]["brier"]) for s in samples])
            for part in ("before", "em", "oracle")
        ]
        lines.append(
            f"| {label} | {len(samples)} | "
            + " | ".join(cells)
            + f" | {brier[0]:.4f} → {brier[1]:.4f} ({brier[2]:.4f}) | "
            f"{_mean(samples, 'before', 'macro_f1'):.3f} / "
            f"{_mean(samples, 'em', 'macro_f1_probability'):.3f} |"
        )
    lines += [
        "",
        "Prevalences: true and EM estimate (means over the samples of a row), and the "
        "largest absolute error of EM and of BBSE over the samples and classes of a row.",
        "",
        "| sample | true " + " / ".join(classes) + " | EM estimate | largest error EM "
        "| largest error BBSE | EM steps (most) | BBSE condition number (largest) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, samples in groups.items():
        true = np.mean([s["true_priors"] for s in samples], axis=0)
        em = np.mean([s["em"]["priors"] for s in samples], axis=0)
        em_error = max(max(abs(e) for e in s["em"]["error"]) for s in samples)
        bbse_error = max(max(abs(e) for e in s["bbse"]["error"]) for s in samples)
        steps = max(max(s["em"]["n_iter"]) for s in samples)
        condition = max(max(s["bbse"]["condition_numbers"]) for s in samples)
        lines.append(
            f"| {label} | {' / '.join(f'{v:.3f}' for v in true)} | "
            f"{' / '.join(f'{v:.3f}' for v in em)} | {em_error:.3f} | {bbse_error:.3f} | "
            f"{steps} | {condition:.1f} |"
        )
    return lines


def diagnostic_table(results):
    """The shifted class on the calibration records, resampled like fold 9."""
    lines = [
        "## Diagnostic: the calibration records",
        "",
        "The held-out records of folds 1-8 that the calibration maps were fitted on, "
        "resampled like fold 9 (in-sample for the maps, so calibrated by construction; BBSE "
        "takes them as source too). The shifted class alone: ECE before → after EM, and the "
        "largest EM and BBSE prevalence error over the seeds.",
        "",
        "| model | sample | ECE before → after | largest error EM | largest error BBSE |",
        "|---|---|---|---|---|",
    ]
    for name, result in results.items():
        for label, samples in _groups(result["calibration_records"]).items():
            if label == AS_IS:
                continue
            k = result["classes"].index(samples[0]["shifted"])
            em_error = max(abs(s["em"]["error"][k]) for s in samples)
            bbse_error = max(abs(s["bbse"]["error"][k]) for s in samples)
            lines.append(
                f"| {name} | {label} | {_mean(samples, 'before', 'ece', k):.3f} → "
                f"{_mean(samples, 'em', 'ece', k):.3f} | {em_error:.3f} | {bbse_error:.3f} |"
            )
    return lines


def _misses(misses, shown=6):
    if not misses:
        return ""
    more = f"; and {len(misses) - shown} more, in the JSON" if len(misses) > shown else ""
    return f" (missed: {'; '.join(misses[:shown])}{more})"


def report(results, targets, header):
    t = targets
    lines = [
        "# Prior-shift adaptation, PTB-XL fold 9",
        "",
        header,
        "",
        "Targets, on fold 9 (all classes; the shifted class alone):",
        "",
        f"- ECE ≤ {ECE_GOOD} after adaptation for every class of every shifted sample whose "
        f"ECE was above {ECE_BAD} before: {t['ece']['all']['met']} of "
        f"{t['ece']['all']['cases']} cases; the shifted class alone "
        f"{t['ece']['shifted']['met']} of {t['ece']['shifted']['cases']}"
        f"{_misses(t['ece']['shifted']['misses'])}.",
        f"- EM prevalence estimates within {PRIOR_ERROR} of the true prevalence: "
        f"{t['prevalence']['all']['within']} of {t['prevalence']['all']['cases']} (class, "
        f"sample) cases, largest error {t['prevalence']['all']['largest_error']:.3f}; the "
        f"shifted class alone {t['prevalence']['shifted']['within']} of "
        f"{t['prevalence']['shifted']['cases']}, largest error "
        f"{t['prevalence']['shifted']['largest_error']:.3f}.",
        "- On fold 9 as it is, no class's ECE worse after adaptation: "
        + (
            "met."
            if not t["fold9_as_is_worse"]
            else "missed by " + "; ".join(t["fold9_as_is_worse"]) + "."
        ),
        "",
    ]
    for name, result in results.items():
        lines += model_tables(name, result) + [""]
    return "\n".join(lines + diagnostic_table(results) + [""] + levers_table(results) + [""])


def rounded(value):
    """Floats to 6 decimals, for a JSON file of readable size."""
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v) for v in value]
    return round(value, 6) if isinstance(value, float) else value


def git_commit():
    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "HEAD")
    return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def external_report():
    """Report only: EM on the external records of ``external_validation.py`` (their
    probabilities as that script recorded them, scored through ``cardionet predict``);
    estimated against observed prevalences, ECE before and after. Nothing is tuned on them,
    and 34 records are far too few for the adapter's default minimum of 100: read it as
    an illustration, not a measurement."""
    from cardionet_sk import estimate_priors_em

    external = json.loads((RESULTS / "external_validation.json").read_text())
    kept = [r for r, v in external["records"].items() if v["labels"]]
    classes = list(external["positives"])
    y = np.array([[c in external["records"][r]["labels"] for c in classes] for r in kept], int)
    rows = {}
    for name in MODELS:
        model = load_model(name)
        source = pretrained_priors(model)
        proba = np.array([external["models"][name]["proba"][r] for r in kept])
        target, _, _ = estimate_priors_em(proba, source)
        adapted = adjust_probabilities(proba, source, target)
        rows[name] = {
            c: {
                "observed": float(y[:, k].mean()),
                "source": float(source[k]),
                "estimated": float(target[k]),
                "ece_before": expected_calibration_error(y[:, k], proba[:, k]),
                "ece_after": expected_calibration_error(y[:, k], adapted[:, k]),
            }
            for k, c in enumerate(classes)
        }
    lines = [
        "# Prior shift on the external records (report only)",
        "",
        f"`python benchmarks/prior_shift.py --external` on {describe_machine()}: EM on the "
        f"{len(kept)} Georgia and Chapman-Shaoxing records of the external validation (their "
        "probabilities from `cardionet predict`), labels from the SNOMED CT mapping. Prevalence "
        "observed / of the calibration records / estimated, and ECE before -> after. Far too "
        "few records for a measurement (the adapter asks for 100 by default); nothing was tuned "
        "on them.",
        "",
        "| model | " + " | ".join(classes) + " |",
        "|---|" + "---|" * len(classes),
    ]
    for name, row in rows.items():
        cells = [
            f"{v['observed']:.2f} / {v['source']:.2f} / {v['estimated']:.2f}; "
            f"{v['ece_before']:.3f} -> {v['ece_after']:.3f}"
            for v in row.values()
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    meta = provenance("python benchmarks/prior_shift.py --external")
    (RESULTS / "prior_shift_external.json").write_text(
        json.dumps({**meta, "n_records": len(kept), "models": rows}, indent=2) + "\n"
    )
    (RESULTS / "prior_shift_external.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-home", type=Path, default=None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-records", type=int, default=2000)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument(
        "--external",
        action="store_true",
        help="report only: EM on the external validation's records (run that script first)",
    )
    parser.add_argument(
        "--write-priors",
        action="store_true",
        help="write calibration_priors into the embedded models' config.json, and stop",
    )
    args = parser.parse_args()
    if args.external:
        external_report()
        return
    data = fetch_ptbxl(
        ptbxl_data_home(args.data_home), folds=range(1, 10), download_if_missing=False
    )
    if args.write_priors:
        write_priors(data)
        return
    if args.n_records < 1000:
        raise SystemExit("--n-records must be at least 1000.")
    start = time.perf_counter()
    results = {
        name: benchmark_model(name, data, args.n_records, args.seeds) for name in args.models
    }
    targets = check_targets(results)
    machine = describe_machine()
    # The arguments that change the numbers (not where PTB-XL is).
    command = "python benchmarks/prior_shift.py" + "".join(
        f" --{name.replace('_', '-')} {value}"
        for name, value in (("seeds", args.seeds), ("n_records", args.n_records))
        if value != parser.get_default(name)
    )
    if args.models != list(MODELS):
        command += " --models " + " ".join(args.models)
    meta = {
        "command": command,
        "git_commit": git_commit(),
        "cardionet_sk_version": cardionet_sk.__version__,
        "machine": machine,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - start),
        "n_records": args.n_records,
        "seeds": args.seeds,
        "shifts": SHIFTS,
        "ece_bins": "15 equal-width (calibration_ptbxl.expected_calibration_error)",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "prior_shift.json").write_text(
        json.dumps(rounded({**meta, "targets": targets, "models": results}), indent=1) + "\n"
    )
    header = (
        f"`{meta['command']}` on {machine} ({meta['date'][:10]}, cardionet-sk "
        f"{meta['cardionet_sk_version']}, commit {meta['git_commit'][:12]}"
        f"{' with uncommitted changes' if meta['git_commit'].endswith('-dirty') else ''}). "
        "Fold 9 "
        f"({results[args.models[0]]['fold9_records']} records) resampled with replacement to "
        "move one class's prevalence at a time (its positives and negatives drawn "
        f"separately), {args.n_records} records per sample, {args.seeds} seeds per target; "
        "the other classes move with it. Adaptation: `PriorShiftAdaptedClassifier` "
        "(EM; BBSE with the labelled held-out records of folds 1-8 as source data) fitted on "
        "each sample's unlabelled records, source prevalences from the model's "
        "`calibration_priors`. ECE: 15 equal-width bins, as in `calibration_ptbxl.py`. "
        "PTB-XL: Wagner et al. 2020, PhysioNet, CC BY 4.0."
    )
    text = report(results, targets, header)
    (RESULTS / "prior_shift.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
