"""The embedded models on records of other hospitals, scored through ``cardionet predict``.

    python benchmarks/external_validation.py [--records DIR] [--bootstrap 1000] [--write-models]

The records: those of ``--records`` (default ``../cinc2021``) that the PhysioNet/CinC
Challenge 2021 took from databases other than PTB-XL (every record but the ``HR`` ones):
the Georgia 12-lead ECG Challenge database (``E*``) and the Chapman University - Shaoxing
People's Hospital database (``JS*``), 500 Hz, 10 s. Their labels are their header's
SNOMED CT ``Dx`` codes mapped to the five superclasses by
:func:`cardionet_sk.datasets.superclass_labels`; records with no mapped class (a rhythm or
a form statement alone, e.g. sinus tachycardia) are left out, as the PTB-XL benchmark
leaves out records without a label of its task. Nothing was tuned on these records.

Every embedded superdiagnostic model (``superdiagnostic_models``, the ensemble included)
scores them through the command line, as a user would: ``cardionet predict RECORD ...
--model NAME --format csv`` in a subprocess (each record resampled from its header's
rate). Per class: the ROC AUC with its 95 % bootstrap interval where the class has at
least ``MIN_COUNT`` positive and negative records (else "too few"), the expected
calibration error (``calibration_ptbxl.py``'s definition) and the mean predicted
probability beside the observed rate; the macro AUC over the classes with an AUC.

Writes ``benchmarks/results/external_validation.json`` and ``.md``. ``--write-models``
also stores a summary as ``metrics["external_validation"]`` in each model's
``config.json`` (an ensemble's ``ensemble.json``), changing that key alone, and rewrites
the model's card (``README.md``).
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from cardionet_sk import SUPERCLASSES
from cardionet_sk.datasets import (
    SNOMED_MAPPING_VERSION,
    SNOMED_NAMES,
    read_record,
    snomed_codes,
    superclass_labels,
)
from cardionet_sk.hub import (
    CONFIG_NAME,
    EMBEDDED_DIR,
    ENSEMBLE_NAME,
    MODEL_CARD_NAME,
    folder_config,
    model_card,
)

from _common import RESULTS, ROOT, bootstrap, macro_auc, provenance, superdiagnostic_models
from calibration_ptbxl import expected_calibration_error

MIN_COUNT = 5
#: Record name prefix -> the database of the PhysioNet/CinC Challenge 2021 it comes from.
SOURCES = {
    "E": "the Georgia 12-lead ECG Challenge database (Emory University, Atlanta, USA)",
    "JS": "the Chapman University - Shaoxing People's Hospital database (China)",
}
DATASET = "PhysioNet/CinC Challenge 2021: Georgia and Chapman-Shaoxing records"


def source(path):
    return next(db for prefix, db in SOURCES.items() if Path(path).stem.startswith(prefix))


def external_records(folder):
    """The headers of ``folder`` from the Challenge's databases other than PTB-XL."""
    return sorted(p for p in Path(folder).glob("*.hea") if p.stem.startswith(tuple(SOURCES)))


def labels(paths):
    """Superclass labels of the records, their codes, and whether the mapping knows them."""
    codes = [snomed_codes(read_record(path).comments) for path in paths]
    y, known = superclass_labels(codes, return_known=True)
    return y, codes, known


def score_with_cli(name, paths, folder):
    """``cardionet predict`` of ``paths`` with the model ``name``: the probabilities, and
    the signal warning of each record that has one."""
    output = Path(folder) / f"{name}.csv"
    command = [sys.executable, "-m", "cardionet_sk", "predict", *map(str, paths)]
    command += ["--model", name, "--format", "csv", "-o", str(output), "--no-progress"]
    subprocess.run(command, check=True, capture_output=True)
    rows = pd.read_csv(output, keep_default_na=False)
    if [Path(r).stem for r in rows["record"]] != [p.stem for p in paths]:
        raise RuntimeError(f"{name}: cardionet predict wrote other records than asked")
    errors = rows[rows["error"] != ""]
    if len(errors):
        raise RuntimeError(f"{name}: records not scored: {errors[['record', 'error']]}")
    warned = {Path(r.record).stem: r.warning for r in rows.itertuples() if r.warning}
    return rows[list(SUPERCLASSES)].to_numpy(dtype=float), warned


def _auc(y, proba):
    """ROC AUC; NaN for a resample in which the class has one value (``bootstrap`` leaves
    those out)."""
    return roc_auc_score(y, proba) if 0 < y.sum() < len(y) else np.nan


def class_result(y, proba, n_bootstrap):
    """AUC (if enough positives and negatives), calibration and rates of one class."""
    positives = int(y.sum())
    enough = min(positives, len(y) - positives) >= MIN_COUNT
    auc = interval = None
    if enough:
        auc = float(roc_auc_score(y, proba))
        interval = bootstrap(lambda rows: _auc(y[rows], proba[rows]), len(y), n_bootstrap)
    return {
        "positives": positives,
        "negatives": len(y) - positives,
        "auc": auc,
        "auc_95ci": interval,
        "ece": expected_calibration_error(y, proba),
        "mean_predicted": float(proba.mean()),
        "observed_rate": float(y.mean()),
    }


def model_result(y, proba, n_bootstrap):
    """Per-class results and the macro AUC over the classes with an AUC."""
    per_class = {
        c: class_result(y[:, k], proba[:, k], n_bootstrap) for k, c in enumerate(SUPERCLASSES)
    }
    measured = [k for k, c in enumerate(SUPERCLASSES) if per_class[c]["auc"] is not None]
    value = interval = None
    if measured:
        yk, pk = y[:, measured], proba[:, measured]
        value = macro_auc(yk, pk)
        interval = bootstrap(lambda rows: macro_auc(yk[rows], pk[rows]), len(y), n_bootstrap)
    return {
        "per_class": per_class,
        "macro_auc": value,
        "macro_auc_95ci": interval,
        "macro_classes": [SUPERCLASSES[k] for k in measured],
    }


def card_metrics(result, n_records, description):
    """The summary stored as a model's ``metrics["external_validation"]``."""
    return {
        "dataset": DATASET,
        "description": description,
        "n_records": n_records,
        "min_count": MIN_COUNT,
        "macro_auc": result["macro_auc"],
        "macro_auc_95ci": result["macro_auc_95ci"],
        "per_class": {
            c: {key: row[key] for key in ("auc", "auc_95ci", "positives")}
            for c, row in result["per_class"].items()
        },
    }


def set_metric(path, key, value):
    """Set ``metrics[key]`` in the JSON file ``path``, leaving every other field as it is."""
    path = Path(path)
    content = json.loads(path.read_text())
    content["metrics"] = {**(content.get("metrics") or {}), key: value}
    path.write_text(json.dumps(content, indent=2) + "\n")


def rewrite_card(folder):
    """The model card of the embedded model ``folder``, written again from its files."""
    model_card(folder_config(folder)).save(folder / MODEL_CARD_NAME)


def write_model(name, metrics):
    folder = EMBEDDED_DIR / name
    file = CONFIG_NAME if (folder / CONFIG_NAME).is_file() else ENSEMBLE_NAME
    set_metric(folder / file, "external_validation", metrics)
    rewrite_card(folder)


def describe(paths, kept, codes):
    """What the records are and what the mapping left out, in one paragraph."""
    by_source = pd.Series([source(p) for p in paths]).value_counts()
    left_out = sorted(
        {" + ".join(SNOMED_NAMES.get(c, c) for c in codes[i]) for i in np.flatnonzero(~kept)}
    )
    return (
        f"{len(paths)} records of 10 s at 500 Hz, "
        + " and ".join(f"{n} of {db}" for db, n in by_source.items())
        + f", labelled by their SNOMED CT Dx codes (mapping {SNOMED_MAPPING_VERSION}); the "
        f"{(~kept).sum()} with no mapped class are left out ({'; '.join(left_out)}), leaving "
        f"{kept.sum()}."
    )


def estimate(value, interval):
    if value is None:
        return "too few"
    return f"{value:.3f} ({interval[0]:.3f}-{interval[1]:.3f})"


def report_lines(report):
    lines = [
        "# External validation: Georgia and Chapman-Shaoxing records",
        "",
        f"`{report['command']}` on {report['machine']}. {report['description']} Each record "
        "scored through `cardionet predict RECORD ... --model NAME --format csv` (resampled from "
        "500 Hz to the model's 100 Hz). AUC with its 95 % bootstrap interval "
        f"({report['n_bootstrap']:,} resamples of the records) where a class has at least "
        f"{MIN_COUNT} positive and {MIN_COUNT} negative records, else *too few*; macro AUC over "
        "those classes. ECE: 15 equal-width bins, as on PTB-XL. Mean predicted probability / "
        f"observed rate per class. Only {report['n_records']} records: the intervals are wide, "
        "and the ECE of a class rests on a handful of records. Nothing was tuned on them.",
        "",
        "Positives: "
        + ", ".join(f"{c} {n}" for c, n in report["positives"].items())
        + f" of {report['n_records']} records.",
        "",
        "## AUC",
        "",
        "| model | macro AUC (95 % CI) | " + " | ".join(SUPERCLASSES) + " | signal warnings |",
        "|---|---|" + "---|" * len(SUPERCLASSES) + "---|",
    ]
    for name, row in report["models"].items():
        cells = [estimate(v["auc"], v["auc_95ci"]) for v in row["per_class"].values()]
        macro = estimate(row["macro_auc"], row["macro_auc_95ci"])
        warned = len(row["signal_warnings"])
        lines.append(f"| {name} | {macro} | " + " | ".join(cells) + f" | {warned} |")
    warned = {}
    for row in report["models"].values():
        for record, message in row["signal_warnings"].items():
            warned.setdefault((record, message), 0)
            warned[record, message] += 1
    if warned:
        lines += ["", "Signal warnings (the records were scored all the same):", ""]
        lines += [
            f"- {record}, {n} of {len(report['models'])} models: {message}"
            + ("" if report["records"][record]["labels"] else " (left out: no mapped class)")
            for (record, message), n in sorted(warned.items())
        ]
    lines += [
        "",
        "## Calibration",
        "",
        "ECE, then mean predicted probability / observed rate.",
        "",
        "| model | "
        + " | ".join(f"{c} ECE | {c} predicted / observed" for c in SUPERCLASSES)
        + " |",
        "|---|" + "---|---|" * len(SUPERCLASSES),
    ]
    for name, row in report["models"].items():
        cells = [
            f"{v['ece']:.3f} | {v['mean_predicted']:.2f} / {v['observed_rate']:.2f}"
            for v in row["per_class"].values()
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=Path, default=ROOT.parent / "cinc2021")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--write-models", action="store_true")
    args = parser.parse_args()
    paths = external_records(args.records)
    if not paths:
        raise SystemExit(f"{args.records} holds no Georgia (E*) or Chapman-Shaoxing (JS*) record")
    y, codes, known = labels(paths)
    kept = y.any(axis=1)
    description = describe(paths, kept, codes)
    models = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in superdiagnostic_models(ensembles=True):
            proba, warned = score_with_cli(name, paths, folder)
            models[name] = model_result(y[kept], proba[kept], args.bootstrap)
            models[name]["signal_warnings"] = warned
            models[name]["proba"] = {p.stem: row.tolist() for p, row in zip(paths, proba)}
            print(name, models[name]["macro_auc"], flush=True)
            if args.write_models:
                write_model(name, card_metrics(models[name], int(kept.sum()), description))
    command = f"python benchmarks/external_validation.py --bootstrap {args.bootstrap}"
    report = {
        **provenance(command + " --write-models" * args.write_models),
        "description": description,
        "snomed_mapping_version": SNOMED_MAPPING_VERSION,
        "n_bootstrap": args.bootstrap,
        "n_records": int(kept.sum()),
        "records": {
            p.stem: {"codes": c, "labels": [s for s, v in zip(SUPERCLASSES, row) if v]}
            for p, c, row in zip(paths, codes, y)
        },
        "all_codes_known": bool(known.all()),
        "positives": dict(zip(SUPERCLASSES, map(int, y[kept].sum(axis=0)))),
        "models": models,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "external_validation.json").write_text(json.dumps(report, indent=2) + "\n")
    text = "\n".join(report_lines(report)) + "\n"
    (RESULTS / "external_validation.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
