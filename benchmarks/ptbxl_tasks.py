"""PTB-XL's six benchmark tasks, from scratch and fine-tuned; and a fine-tuning learning curve.

    python benchmarks/ptbxl_tasks.py [--data-home DIR] [--runs curve form rhythm ...]
                                     [--checkpoints DIR]

Every run trains ``resnet1d_wang`` with the recipe of the embedded
``resnet1d-wang-ptbxl`` model (random 2.5 s crops, AdamW, one-cycle schedule,
balanced per-label weights, the best epoch by validation macro AUC kept,
prediction in one pass over the whole record) on the records of folds 1-8 that
carry a label of the task (``fetch_ptbxl(task=..., drop_unlabelled=True)``), the
records of 20 % of their patients held out for choosing the epoch (but see
``scratch-folds-1-8``), and reports
fold 9: macro ROC AUC over the classes with positive records there, with a 95 %
bootstrap interval (1,000 resamples of the records).

- ``scratch``: a new network, the benchmark's 50 epochs where they fit a 40-minute
  budget on 2 CPU cores (the form statements: 7,202 training records), else
  ``SCRATCH_EPOCHS`` (the other tasks: about 17,000 training records each).
- ``finetuned``: ``CardioNetClassifier(init="resnet1d-wang-ptbxl")``, the
  superdiagnostic model's network with a new output layer, the body frozen for
  the first epoch; ``SCRATCH_EPOCHS // 2`` epochs (at most half those from scratch),
  a lower learning rate. Not for the
  superdiagnostic task itself, which that model was trained on.
- ``scratch-folds-1-8`` and ``finetuned-folds-1-8``: the same starts under the
  benchmark's own protocol: every labelled record of folds 1-8 trains, none held
  out, for a fixed ``ALL_FOLDS_EPOCHS`` (from scratch, the form statements: 50), and
  the last epoch is kept. Without a validation pass, an epoch of all the records
  takes about as long as one of 80 % of them with it.
- ``scratch-validated`` and ``finetuned-validated`` (the form statements only,
  ``VALIDATED_TASKS``): the *-folds-1-8* runs on the records whose statements a
  cardiologist validated (``validated_by_human``), as every record of folds 9
  and 10 was; the others carry device-generated statements that leave out most
  form statements.
- ``scratch-validated-unweighted`` and ``scratch-validated-ema`` (the form
  statements only, ``VALIDATED_VARIANTS``): ``scratch-validated`` with one change
  each, the benchmark's unweighted loss or a moving average of the weights.

The learning curve (run ``curve``) stands in for a user's own labels: the rhythm
and the form statements, which the superdiagnostic model never saw, each learned
from 500 and 2,000 records of folds 1-8 (drawn by patient, seed 0) from scratch and
fine-tuned; fold 9 reports, with the 95 % bootstrap interval of the paired
difference (fine-tuned minus scratch, the same resampled records).

Each run writes ``benchmarks/results/ptbxl_tasks/<run>.json`` when it finishes,
and a run whose file exists is skipped: stopping the script and starting it
again resumes with the next run. The run in progress resumes at its last
finished epoch too: Keras' ``BackupAndRestore`` keeps its weights, optimizer
and epoch under ``--checkpoints`` (default ``benchmarks/.checkpoints``); the
trained models are saved under ``--models`` (default ``benchmarks/.models``). Wall
times are those of the last uninterrupted stretch of a run (``resumed`` says
when a run was resumed). ``--runs`` picks runs by name prefix (``form``,
``rhythm-scratch``, ``curve`` ...); by default all, the all-statements network
first, then the curve. When runs are done, ``benchmarks/results/ptbxl_tasks.md``
is rewritten from all their files. ``--embed`` makes the better of the fine-tuned
all-statements runs (``all-finetuned``, and ``all-finetuned-long``, fine-tuned for
as many epochs as from scratch), by validation macro AUC, the embedded model
``resnet1d-wang-ptbxl-all`` (``embed``). Each run records every class's fold-9 AUC
and positive records; ``--rescore`` adds them, from the saved models, to runs that
finished before they were recorded. The report shows them for the form statements,
whose rarest classes have a handful of positive records on fold 9.
"""

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score
from sklearn.model_selection import GroupShuffleSplit

from cardionet_sk import CardioNetClassifier, load_pretrained, tune_thresholds
from cardionet_sk.datasets import fetch_ptbxl
from cardionet_sk.hub import EMBEDDED_DIR

from _common import RESULTS, EpochClock, bootstrap, macro_auc, ptbxl_data_home
from _common import machine as describe_machine

TASKS = ("superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all")
#: Strodthoff et al. (2021), resnet1d_wang, macro AUC on fold 10 (the benchmark's README).
PUBLISHED_FOLD10 = {
    "all": 0.919,
    "diagnostic": 0.936,
    "subdiagnostic": 0.928,
    "superdiagnostic": 0.930,
    "form": 0.880,
    "rhythm": 0.946,
}
PRETRAINED = "resnet1d-wang-ptbxl"
SCRATCH_EPOCHS = 24
#: The tasks with few enough labelled records for the benchmark's 50 epochs in the budget.
FULL_SCHEDULE = {"form": 50}
#: Epochs on all of folds 1-8 (none held out): from scratch, what fits the budget for ~17,000
#: records; fine-tuned, half as many.
ALL_FOLDS_EPOCHS = {"scratch": 36, "finetuned": 18}
RECIPE = {
    "architecture": "resnet1d_wang",
    "crop_size": 250,
    "crop_inference": "whole",
    "batch_size": 128,
    "optimizer": "adamw",
    "optimizer__weight_decay": 1e-2,
    "lr_schedule": "one_cycle",
    "monitor": "val_macro_auc",
    "random_state": 0,
}
SETTINGS = {
    "scratch": {
        **RECIPE,
        "learning_rate": 1e-2,
        "epochs": SCRATCH_EPOCHS,
        "patience": SCRATCH_EPOCHS,
        "max_time": 40 * 60,
    },
    "finetuned": {
        **RECIPE,
        "init": PRETRAINED,
        "init__freeze_epochs": 1,
        "learning_rate": 3e-3,
        "epochs": SCRATCH_EPOCHS // 2,
        "patience": SCRATCH_EPOCHS // 2,
        "max_time": 20 * 60,
    },
}
# The benchmark's own protocol: every record of folds 1-8 trains, for a fixed number of epochs
# (the last one is kept); no records are held out, so no validation pass either, and the time
# it took goes to training.
SETTINGS.update(
    {
        f"{start}-folds-1-8": {
            **{k: v for k, v in SETTINGS[start].items() if k != "patience"},
            "validation_split": 0,
            "epochs": epochs,
            # A fixed number of epochs must all run: the whole budget, not a share of it.
            "max_time": SETTINGS["scratch"]["max_time"],
        }
        for start, epochs in ALL_FOLDS_EPOCHS.items()
    }
)
#: Every record of folds 9 and 10 had its statements validated by a cardiologist; of folds 1-8
#: only about two thirds did (``validated_by_human``), the others keep the statements an ECG
#: device generated. For the form statements these never include most of them: none of the
#: 2,758 such records of folds 1-8 has INVT, LOWT, STD_ or QWAVE, against 5-18 % of the
#: validated ones, so they teach "absent" where it is unknown. The *-validated runs train
#: on the validated records only, under the benchmark's protocol otherwise.
VALIDATED_TASKS = ("form",)
SETTINGS.update(
    {f"{start}-validated": SETTINGS[f"{start}-folds-1-8"] for start in ALL_FOLDS_EPOCHS}
)
#: Levers tried on the form statements' validated run from scratch, one change each: the
#: benchmark's own loss (no per-label weights), and weight averaging (an exponential moving
#: average of the weights, momentum 0.995 a step: about six of its 35-step epochs).
VALIDATED_VARIANTS = {
    "unweighted": {"class_weight": None},
    "ema": {"optimizer__use_ema": True, "optimizer__ema_momentum": 0.995},
}
SETTINGS.update(
    {
        f"scratch-validated-{variant}": {**SETTINGS["scratch-validated"], **change}
        for variant, change in VALIDATED_VARIANTS.items()
    }
)
#: The superclass work's best lever, for issue 29's task models: fine-tuned from the averaged
#: superdiagnostic ResNet, with a moving average of the weights (momentum 0.998 a step), 10 %
#: of the patients held out to choose the epoch (the superclass models' split), 24 epochs.
SETTINGS["finetuned-ema"] = {
    **SETTINGS["finetuned"],
    "init": "resnet1d-wang-ptbxl-ema",
    "validation_split": 0.1,
    "epochs": SCRATCH_EPOCHS,
    "patience": SCRATCH_EPOCHS,
    "max_time": 40 * 60,
    "optimizer__use_ema": True,
    "optimizer__ema_momentum": 0.998,
}
#: A run for the embedded all-statements model only: fine-tuned as long as from scratch.
LONG_FINETUNING = "all-finetuned-long"
#: The embedded all-statements model (``--embed``) is the candidate with the higher best
#: validation macro AUC (held-out records of folds 1-8; fold 9 plays no part in the choice).
EMBEDDED_CANDIDATES, EMBEDDED_NAME = ("all-finetuned", LONG_FINETUNING), "resnet1d-wang-ptbxl-all"
#: The learning curve's (task, training-set size) pairs.
CURVES = [(task, size) for task in ("rhythm", "form") for size in (500, 2000)]
#: The learning curve's starts, each with more epochs for its small training sets (an epoch
#: is short); the paired difference is the second minus the first.
CURVE_EPOCHS = {"scratch": 40, "finetuned": 20}
OUT = RESULTS / "ptbxl_tasks"


def task_runs(starts):
    """The runs of every whole task from each of ``starts``, the all-statements network first
    (it is also the embedded all-statements model); the superdiagnostic model is not
    fine-tuned from itself."""
    return [
        (f"{task}-{start}", task, start, None)
        for task in ("all", "form", "rhythm", "diagnostic", "subdiagnostic", "superdiagnostic")
        for start in starts
        if not (task == "superdiagnostic" and start.startswith("finetuned"))
    ]


def runs():
    """Every run, in the order they are done: name, task, start, training-set size."""
    curve = [
        (f"curve-{task}-{size}-{start}", task, start, size)
        for task, size in CURVES
        for start in ("scratch", "finetuned")
    ]
    tasks = task_runs(("scratch", "finetuned"))
    all_folds = task_runs([f"{start}-folds-1-8" for start in ALL_FOLDS_EPOCHS])
    validated_starts = [f"{start}-validated" for start in ALL_FOLDS_EPOCHS]
    validated_starts += [f"scratch-validated-{variant}" for variant in VALIDATED_VARIANTS]
    validated = [run for run in task_runs(validated_starts) if run[1] in VALIDATED_TASKS]
    return (
        tasks[:1]
        + curve
        + tasks[1:]
        + [(LONG_FINETUNING, "all", "finetuned", None)]
        + all_folds
        + validated
        + task_runs(["finetuned-ema"])
    )


def per_class(y, proba, classes):
    """Each class's fold-9 ROC AUC (``None`` without both values) and positive records."""
    counts = y.sum(axis=0)
    return {
        str(name): {
            "auc": float(roc_auc_score(y[:, k], proba[:, k])) if 0 < counts[k] < len(y) else None,
            "positives": int(counts[k]),
        }
        for k, name in enumerate(classes)
    }


def subset(data, train, size, seed=0):
    """``size`` training records (or about: whole patients), drawn by patient."""
    rows = np.flatnonzero(train)
    splitter = GroupShuffleSplit(1, train_size=size / len(rows), random_state=seed)
    chosen, _ = next(splitter.split(rows, groups=data.patient_id[rows]))
    mask = np.zeros_like(train)
    mask[rows[chosen]] = True
    return mask


def train_and_score(name, task, start, size, data, checkpoints, models):
    train = data.fold <= 8
    if "-validated" in start:
        train &= data.frame["validated_by_human"].to_numpy(dtype=bool)
    if size is not None:
        train = subset(data, train, size)
    settings = dict(SETTINGS[start])
    if start.startswith("scratch") and task in FULL_SCHEDULE:
        settings["epochs"] = settings["patience"] = FULL_SCHEDULE[task]
    if name == LONG_FINETUNING:
        settings.update(
            epochs=SCRATCH_EPOCHS, patience=SCRATCH_EPOCHS, max_time=SETTINGS["scratch"]["max_time"]
        )
    if size is not None:
        settings["epochs"] = settings["patience"] = CURVE_EPOCHS[start]
    # A label without positive (or negative) training records cannot be learned: it is left
    # out, of training and of the fold-9 score (the benchmark has the same problem).
    counts = data.target[train].sum(axis=0)
    labels = (counts > 0) & (counts < train.sum())
    backup = checkpoints / name
    resumed = backup.exists()
    clock = EpochClock(name)
    clf = CardioNetClassifier(
        class_names=np.asarray(data.target_names)[labels],
        fit__callbacks=[keras.callbacks.BackupAndRestore(str(backup)), clock],
        **settings,
    )
    began = time.perf_counter()
    clf.fit(data.data[train], data.target[train][:, labels], groups=data.patient_id[train])
    seconds = time.perf_counter() - began
    fold9 = data.fold == 9
    y9, proba9 = data.target[fold9][:, labels], clf.predict_proba(data.data[fold9])
    history = clf.history_
    validation_auc = history.get("val_macro_auc", [])  # none without held-out records
    best = int(np.argmax(validation_auc)) if validation_auc else len(history["loss"]) - 1
    if size is not None:  # for the paired comparison of the learning curve
        np.save(OUT / f"{name}.fold9.npy", proba9.astype(np.float32))
    clf.set_params(fit__callbacks=None).save_pretrained(models / name)
    held_out = data.ecg_id[train][clf.validation_records_]
    return {
        "run": name,
        "task": task,
        "start": start,
        "training_records": int(train.sum()),
        "classes": int(labels.sum()),
        "labels_left_out": [str(c) for c in np.asarray(data.target_names)[~labels]],
        "fold9_records": int(fold9.sum()),
        "settings": {k: v for k, v in settings.items()},
        "epochs_run": len(history["loss"]),
        "best_epoch": best + 1,
        "minutes_to_best_epoch": clock.times[best] / 60 if best < len(clock.times) else None,
        "minutes": seconds / 60,
        "resumed": resumed,
        "val_macro_auc": validation_auc,
        "fold9_macro_auc": macro_auc(y9, proba9, present_classes=True),
        "fold9_macro_auc_95ci": bootstrap(
            lambda rows: macro_auc(y9[rows], proba9[rows], present_classes=True), len(y9)
        ),
        "fold9_per_class": per_class(y9, proba9, clf.classes_),
        "machine": describe_machine(),
        "validation_ecg_ids": [int(i) for i in held_out],
    }


def fold9_labels(data, run):
    """The fold-9 labels ``run`` (its result file) was scored on: the task's classes but
    those its training records had no positive (or no negative) of."""
    return data.target[data.fold == 9][:, ~np.isin(data.target_names, run["labels_left_out"])]


def curve_differences(load):
    """Paired bootstrap of fine-tuned minus scratch fold-9 macro AUC, per curve task and size."""
    differences = {}
    for task, size in CURVES:
        files = [OUT / f"curve-{task}-{size}-{start}.fold9.npy" for start in CURVE_EPOCHS]
        if not all(f.exists() for f in files):
            continue
        data = load(task)  # read once, and only when a pair of runs is there to compare
        scratch, finetuned = (np.load(f) for f in files)
        y9 = fold9_labels(data, json.loads((OUT / f"curve-{task}-{size}-scratch.json").read_text()))

        def gain(rows, y9=y9, scratch=scratch, finetuned=finetuned):
            return macro_auc(y9[rows], finetuned[rows], present_classes=True) - macro_auc(
                y9[rows], scratch[rows], present_classes=True
            )

        differences[f"{task}-{size}"] = {
            "difference": gain(np.arange(len(y9))),
            "difference_95ci": bootstrap(gain, len(y9)),
        }
    return differences


def rescore(load, models):
    """Add ``fold9_per_class`` to the results of runs that finished before it was recorded,
    from their saved models (a run whose model is gone is left as it is)."""
    for path in sorted(OUT.glob("*.json")):
        result = json.loads(path.read_text())
        if "fold9_per_class" in result or not (models / result["run"]).is_dir():
            continue
        data = load(result["task"])
        clf = load_pretrained(models / result["run"])
        y9 = fold9_labels(data, result)
        proba9 = clf.predict_proba(data.data[data.fold == 9])
        if not np.isclose(
            macro_auc(y9, proba9, present_classes=True), result["fold9_macro_auc"], atol=1e-4
        ):
            print(f"left as it is: {models / result['run']} is not the model of {path}")
            continue
        result["fold9_per_class"] = per_class(y9, proba9, clf.classes_)
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"rescored {result['run']}", flush=True)


def per_class_table(results, task, fewest):
    """Markdown lines: the fold-9 AUC of each class of ``task`` in every run that has them,
    with the macro AUC with and without the classes of fewer than ``fewest`` positives."""
    # The task's own runs, in the order of SETTINGS (not the learning curve's).
    runs = [results.get(f"{task}-{start}") for start in SETTINGS]
    runs = [r for r in runs if r is not None and "fold9_per_class" in r]
    if not runs:
        return []
    classes = list(runs[0]["fold9_per_class"])
    positives = {c: runs[0]["fold9_per_class"][c]["positives"] for c in classes}
    rare = [c for c in classes if positives[c] < fewest]
    lines = [
        "",
        f"## {task.capitalize()} statements on fold 9, class by class",
        "",
        f"The macro AUC is the mean of {len(classes)} classes' AUCs, and each positive record of "
        "a class of n carries 1/n of its AUC."
        + (
            f" {', '.join(f'{c} ({positives[c]})' for c in rare)} have fewer than {fewest} "
            f"positive records on fold 9: ranked high or low, any one of them moves the macro "
            f"AUC by up to 1/({len(classes)} n), "
            f"{1 / (len(classes) * max(positives[c] for c in rare)):.3f} or more. The last row "
            "leaves them out; it is no target, only a view of where the runs differ."
            if rare
            else ""
        ),
        "",
        "| class | fold-9 positives | " + " | ".join(r["start"] for r in runs) + " |",
        "|---|---:|" + "---:|" * len(runs),
    ]
    for c in classes:
        cells = [r["fold9_per_class"].get(c, {}).get("auc") for r in runs]
        lines.append(
            f"| {c} | {positives[c]} | "
            + " | ".join("" if a is None else f"{a:.3f}" for a in cells)
            + " |"
        )

    def macro_without_rare(r):
        aucs = [v["auc"] for c, v in r["fold9_per_class"].items() if c not in rare]
        return np.mean([a for a in aucs if a is not None])

    lines.append("| macro | | " + " | ".join(f"{r['fold9_macro_auc']:.3f}" for r in runs) + " |")
    lines.append(
        f"| macro, classes of {fewest} positives or more | | "
        + " | ".join(f"{macro_without_rare(r):.3f}" for r in runs)
        + " |"
    )
    return lines


def loader(home):
    """``load(task)``: the labelled records of folds 1-9 for ``task``, read once."""
    cache = {}

    def load(task):
        if task not in cache:
            cache[task] = fetch_ptbxl(
                home, task=task, folds=range(1, 10), drop_unlabelled=True, download_if_missing=False
            )
        return cache[task]

    return load


def report(load):
    results = {p.stem: json.loads(p.read_text()) for p in sorted(OUT.glob("*.json"))}
    differences = curve_differences(load)
    lines = [
        "# PTB-XL tasks: resnet1d_wang from scratch and fine-tuned",
        "",
        "`python benchmarks/ptbxl_tasks.py` (one run after another, resumable). Trained on "
        "the labelled records of folds 1-8 (20 % of their patients held out to choose the "
        "epoch, but for the *-folds-1-8* runs), reported on fold 9: macro AUC with its 95 % "
        "bootstrap interval. *Scratch*: "
        f"{SCRATCH_EPOCHS} epochs, or the benchmark's {max(FULL_SCHEDULE.values())} where "
        f"they fit a {SETTINGS['scratch']['max_time'] // 60}-minute budget (the "
        f"{', '.join(FULL_SCHEDULE)} statements, fewest records). *Fine-tuned*: from the "
        "superdiagnostic model "
        f"`{PRETRAINED}`, a new output layer, {SCRATCH_EPOCHS // 2} epochs. *-folds-1-8*: the "
        "benchmark's own protocol, every labelled record of folds 1-8 trains (none held out) "
        f"for a fixed {ALL_FOLDS_EPOCHS['scratch']} epochs from scratch (the "
        f"{', '.join(FULL_SCHEDULE)} statements: {max(FULL_SCHEDULE.values())}) or "
        f"{ALL_FOLDS_EPOCHS['finetuned']} fine-tuned, the last one kept. *-validated*: the "
        "same, on the records whose statements a cardiologist validated (`validated_by_human`, "
        "true of all of folds 9 and 10 but of two thirds of folds 1-8, whose other records "
        "keep device-generated statements that leave out most form statements). "
        "*-validated-unweighted*, *-validated-ema*: that run with one change, the benchmark's "
        "unweighted loss, or a moving average of the weights (momentum "
        f"{VALIDATED_VARIANTS['ema']['optimizer__ema_momentum']} a step). "
        "Published: Strodthoff et al. (2021), resnet1d_wang, **fold 10** (not available here). "
        "Minutes: to the end of the best epoch, and for the whole run; machines of one kind "
        "have differed by up to three times from session to session.",
        "",
        "| task | classes | start | fold-9 macro AUC (95 % CI) | published, fold 10 | "
        "best epoch / run | minutes to best / run | machine |",
        "|---|---:|---|---|---:|---|---|---|",
    ]
    for task in TASKS:
        for start in SETTINGS:
            r = results.get(f"{task}-{start}")
            if r is None:
                continue
            low, high = r["fold9_macro_auc_95ci"]
            lines.append(
                f"| {task} | {r['classes']} | {start} | {r['fold9_macro_auc']:.3f} "
                f"({low:.3f}-{high:.3f}) | {PUBLISHED_FOLD10[task]:.3f} | "
                f"{r['best_epoch']} / {r['epochs_run']} | {_minutes(r)} | {r['machine']} |"
            )
    candidates = [results[name] for name in EMBEDDED_CANDIDATES if name in results]
    if candidates:
        lines += [
            "",
            f"Candidates for the embedded all-statements model `{EMBEDDED_NAME}`: `--embed` "
            "takes the one with the higher best validation macro AUC (held-out records of "
            "folds 1-8), fold 9 plays no part in the choice.",
            "",
            "| run | epochs | best validation macro AUC | fold-9 macro AUC (95 % CI) | minutes |",
            "|---|---:|---:|---|---:|",
        ]
        for r in candidates:
            low, high = r["fold9_macro_auc_95ci"]
            lines.append(
                f"| {r['run']} | {r['epochs_run']} | {max(r['val_macro_auc']):.4f} | "
                f"{r['fold9_macro_auc']:.4f} ({low:.3f}-{high:.3f}) | {r['minutes']:.0f} |"
            )
    lines += per_class_table(results, "form", fewest=5)
    lines += [
        "",
        "## Learning curve: rhythm and form statements from few records",
        "",
        "The superdiagnostic model never saw rhythm or form labels: they stand in for your "
        "own. Training records drawn by patient from folds 1-8; fold 9 reports. *Difference*: "
        "fine-tuned minus scratch, with the 95 % interval of the paired bootstrap (the same "
        "resampled records for both).",
        "",
        "| task | training records | scratch | fine-tuned | difference (95 % CI) | "
        "minutes scratch / fine-tuned |",
        "|---|---:|---|---|---|---|",
    ]
    for task, size in CURVES:
        pair = [results.get(f"curve-{task}-{size}-{start}") for start in CURVE_EPOCHS]
        if None in pair:
            continue
        cells = [
            f"{r['fold9_macro_auc']:.3f} ({r['fold9_macro_auc_95ci'][0]:.3f}-"
            f"{r['fold9_macro_auc_95ci'][1]:.3f})"
            for r in pair
        ]
        d = differences.get(f"{task}-{size}")
        diff = (
            f"{d['difference']:+.3f} ({d['difference_95ci'][0]:+.3f} to "
            f"{d['difference_95ci'][1]:+.3f})"
            if d
            else ""
        )
        lines.append(
            f"| {task} | {pair[0]['training_records']} | {cells[0]} | {cells[1]} | {diff} | "
            f"{pair[0]['minutes']:.1f} / {pair[1]['minutes']:.1f} |"
        )
    (RESULTS / "ptbxl_tasks.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "ptbxl_tasks.json").write_text(
        json.dumps({"runs": results, "curve_differences": differences}, indent=2) + "\n"
    )


def embedded_run():
    """The finished candidate with the highest best validation macro AUC, and its result."""
    finished = [name for name in EMBEDDED_CANDIDATES if (OUT / f"{name}.json").exists()]
    if not finished:
        raise FileNotFoundError(
            f"No finished run to embed: run one of {', '.join(EMBEDDED_CANDIDATES)} first "
            f"(--runs {EMBEDDED_CANDIDATES[0]})."
        )
    results = {name: json.loads((OUT / f"{name}.json").read_text()) for name in finished}
    best = max(finished, key=lambda name: max(results[name]["val_macro_auc"]))
    return best, results[best]


def embed(home, load, models):
    """Make the ``embedded_run()`` model an embedded model, its card and thresholds added.

    The thresholds maximise each statement's F1 on the records of folds 1-8 the run held
    out (a statement without positive records there keeps 0.5), which, for a fine-tuned
    run, the pretrained network must have held out as well; fold 9 only reports.
    The statements' descriptions come from ``scp_statements.csv``.
    """
    run, result = embedded_run()
    if result["start"] == "finetuned":
        # The thresholds' records must be unseen by the pretrained network too.
        pretrained = json.loads((RESULTS / f"{PRETRAINED}.json").read_text())
        unseen = set(pretrained["validation_ecg_ids"])
        if not set(result["validation_ecg_ids"]) <= unseen:
            raise RuntimeError(
                f"{run} held out records that {PRETRAINED} trained on: its "
                "thresholds would be tuned on records its network has seen."
            )
    data = load(result["task"])
    clf = load_pretrained(models / run)
    y = data.target[:, np.isin(data.target_names, clf.classes_)]  # the labels it learned
    held_out = np.isin(data.ecg_id, result["validation_ecg_ids"])
    thresholds, _ = tune_thresholds(y[held_out], clf.predict_proba(data.data[held_out]))
    clf.set_params(threshold=thresholds.tolist())
    fold9 = data.fold == 9
    y9, proba9 = y[fold9], clf.predict_proba(data.data[fold9])
    statements = pd.read_csv(home / "ptbxl" / "scp_statements.csv", index_col=0)
    descriptions = [str(statements.loc[code, "description"]) for code in clf.classes_]
    precision, recall, f1, support = precision_recall_fscore_support(
        y9, clf.predict(data.data[fold9]), zero_division=0
    )
    scored = [k for k in range(y9.shape[1]) if 0 < y9[:, k].sum() < len(y9)]
    per_class = {
        clf.classes_[k]: {
            "auc": float(roc_auc_score(y9[:, k], proba9[:, k])),
            "f1": float(f1[k]),
            "precision": float(precision[k]),
            "recall": float(recall[k]),
            "support": int(support[k]),
        }
        for k in scored
    }
    minutes = f"{result['minutes']:.0f} min, {result['epochs_run']} epochs"
    clf.save_pretrained(
        EMBEDDED_DIR / EMBEDDED_NAME,
        name="resnet1d_wang PTB-XL, all 71 statements",
        description=(
            "The PTB-XL benchmark's 1D ResNet (resnet1d_wang) trained by cardionet-sk on "
            f"PTB-XL folds 1-8 for the {len(clf.classes_)} SCP-ECG statements "
            "(diagnostic, form and rhythm), the benchmark's 'all' task"
            + (f", fine-tuned from {PRETRAINED}" if result["start"] == "finetuned" else "")
            + ". Probabilities are "
            "not calibrated; thresholds maximise each statement's F1 on records of folds 1-8 "
            "held out from training by patient."
        ),
        training=(
            f"`python benchmarks/ptbxl_tasks.py --runs {run}`, then `--embed` "
            f"({result['machine']}, {minutes}): the recipe of resnet1d-wang-ptbxl (random "
            "2.5 s crops, AdamW, one-cycle schedule, balanced per-label weights, best epoch "
            "by validation macro AUC, one pass over the whole record at prediction)"
            + (
                f", starting from {PRETRAINED}'s network with a new output layer, its body "
                "frozen for the first epoch, learning rate 3e-3"
                if result["start"] == "finetuned"
                else ""
            )
            + "; seed 0."
        ),
        repo_id=f"cardionet-sk/{EMBEDDED_NAME}",
        task=result["task"],
        class_descriptions=descriptions,
        metrics={
            "macro_auc": macro_auc(y9, proba9, present_classes=True),
            "macro_f1": float(np.mean(f1[scored])),
            "macro_auc_95ci": result["fold9_macro_auc_95ci"],
            "per_class": per_class,
            "dataset": "PTB-XL fold 9",
            "description": f"PTB-XL fold 9 ({int(fold9.sum())} records with a statement), "
            "at thresholds tuned on folds 1-8; macro scores over the statements with positive "
            "records in fold 9.",
        },
    )


def _minutes(r):
    to_best = r["minutes_to_best_epoch"]
    note = " (resumed)" if r["resumed"] else ""
    return f"{to_best:.0f} / {r['minutes']:.0f}{note}" if to_best is not None else ""


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-home", type=Path, default=None)
    parser.add_argument("--runs", nargs="*", default=None, help="name prefixes of the runs")
    parser.add_argument("--checkpoints", type=Path, default=Path(__file__).parent / ".checkpoints")
    parser.add_argument(
        "--models", type=Path, default=Path(__file__).parent / ".models", help="trained models"
    )
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="add each class's fold-9 AUC to finished runs without it, from their saved models",
    )
    parser.add_argument(
        "--embed",
        action="store_true",
        help=f"make the best of {', '.join(EMBEDDED_CANDIDATES)} the model {EMBEDDED_NAME}",
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    home = ptbxl_data_home(args.data_home)
    load = loader(home)
    if args.embed:
        embed(home, load, args.models)
        return
    if args.rescore:
        rescore(load, args.models)
        report(load)
        return
    for name, task, start, size in runs():
        if args.runs and not any(name.startswith(prefix) for prefix in args.runs):
            continue
        if (OUT / f"{name}.json").exists():
            continue
        print(f"== {name}: {time.strftime('%H:%M:%S')}", flush=True)
        result = train_and_score(name, task, start, size, load(task), args.checkpoints, args.models)
        (OUT / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"== {name}: fold-9 macro AUC {result['fold9_macro_auc']:.4f}", flush=True)
        report(load)


if __name__ == "__main__":
    main()
