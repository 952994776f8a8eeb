"""Train an embedded pretrained model on PTB-XL.

    python benchmarks/train_pretrained.py [--model cardionet-ptbxl] [--data-home DIR]

``--model`` picks one of PRESETS, each an embedded model of the same name:
``cardionet-ptbxl``, the published CardioNet CNN; ``resnet1d-wang-ptbxl`` and
``inception1d-ptbxl``, the PTB-XL benchmark's networks trained on random crops
with a one-cycle schedule, with a time budget sized for two CPU cores;
``resnet1d-wang-ptbxl-ema`` and ``inception1d-ptbxl-ema``, the ``-long`` recipes
below with a moving average of the weights (checkpoint averaging), each compared
with its ``-long`` run; ``resnet1d-wang-ptbxl-5s-ema``, ``xresnet1d50-ptbxl-ema`` and
``xresnet1d101-ptbxl-ema``, the same averaging for the ResNet on 5 s crops and for the
benchmark's xresnet1d50 and xresnet1d101. Kept for their
results and not embedded (their folders go to ``benchmarks/.models``):
``cardionet-ptbxl-onecycle``, a shorter run of the CNN's recipe;
``resnet1d-wang-ptbxl-long`` and ``inception1d-ptbxl-long``, the ResNet's and the
Inception network's recipes on more records for more epochs;
``resnet1d-wang-ptbxl-5s`` and ``xresnet1d50-ptbxl``, the recipes two of the last
averaged presets derive from (embedded until they replaced them), and
``xresnet1d101-ptbxl``, the recipe the third derives from (never trained by itself);
``resnet1d-wang-ptbxl-50ep-ema``, ``resnet1d-wang-ptbxl-ema`` on the PTB-XL
benchmark's full schedule of 50 epochs (a lower validation macro AUC, so not
embedded). ``--output``
writes the model folder elsewhere (for a trial run).

Protocol (Strodthoff et al. 2020): train on folds 1-8 (the records of a random
20 % of their patients, 10 % for ``cardionet-ptbxl``, the ``-long`` and the
``-ema`` presets, held out for model selection), tune one decision threshold per class with
tune_thresholds on fold 9, report fold 9. Fold 10, the official test fold, is
not used. ``--data-home`` is a data home whose ``ptbxl/`` folder has the
official PhysioNet layout (see ``fetch_ptbxl``); without it,
``../shared/data/ptbxl/unpack.py`` rebuilds one in a temporary folder.

Writes the model folder ``cardionet_sk/pretrained/<model>`` (what
``load_pretrained("<model>")`` loads and ``push_to_hub``
would publish), ``benchmarks/results/<model>.json`` and ``<model>.md``.
Progress goes to stdout, one line per epoch.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

from cardionet_sk import CardioNetClassifier, load_pretrained, tune_thresholds
from cardionet_sk.datasets import fetch_ptbxl
from cardionet_sk.hub import EMBEDDED_DIR

from _common import RESULTS, EpochClock, paired_difference, ptbxl_data_home
from _common import machine as describe_machine

#: The benchmark's recipe for its fully convolutional networks, with a time budget sized
#: for two CPU cores: random 2.5 s crops, one-cycle AdamW, the best epoch by validation AUC.
#: Every model has seed 0 and so holds out the same patients: an ensemble of them has
#: held-out records that none of its members trained on (``build_ensemble.py``).
CROP_RECIPE = {
    "crop_size": 250,
    "batch_size": 128,
    "optimizer": "adamw",
    "learning_rate": 1e-2,
    "optimizer__weight_decay": 1e-2,
    "lr_schedule": "one_cycle",
    "monitor": "val_macro_auc",
    "patience": 50,
    "window_aggregation": "max",
    "crop_inference": "whole",
    "max_time": 85 * 60,
    "random_state": 0,
}
CROP_RECIPE_TEXT = (
    "one random 2.5 s crop per record per epoch, AdamW (lr 1e-2, weight decay "
    "1e-2) with a one-cycle schedule, batch 128, balanced per-label weights, "
    "per-lead standardisation; the best epoch by validation macro AUC is kept; "
    "prediction in one pass of the network over the whole record"
)

#: Checkpoint averaging: an exponential moving average of the weights (Polyak averaging),
#: which the classifier validates and keeps; momentum 0.998 a step, about four and a half
#: epochs of the crop recipe's 110 steps on 90 % of folds 1-8.
EMA = {"optimizer__use_ema": True, "optimizer__ema_momentum": 0.998}

#: The published CNN's recipe: the crop recipe's optimiser and schedule (one-cycle AdamW, the
#: best epoch by validation AUC) at a lower peak rate. Its Flatten -> Dense head fixes the
#: input at 10 s, so whole records with random circular shifts stand in for crops. Before,
#: with Adam at 1e-3 and early stopping on validation loss, it reached fold-9 macro AUC
#: 0.917 in 60 min.
CNN_RECIPE = {
    "max_shift": 500,
    "batch_size": 64,
    "optimizer": "adamw",
    "learning_rate": 3e-3,
    "optimizer__weight_decay": 1e-2,
    "lr_schedule": "one_cycle",
    "monitor": "val_macro_auc",
    "patience": 50,
    "max_time": 85 * 60,
    "random_state": 0,
}
CNN_RECIPE_TEXT = (
    "one-cycle AdamW (lr 3e-3, weight decay 1e-2), batch 64, binary cross-entropy with "
    "balanced per-label weights, per-lead standardisation, random circular shifts of up to "
    "500 samples; the best epoch by validation macro AUC is kept"
)

#: Settings of each shipped model; every other parameter is the classifier's default
#: (batch 32, Adam at 1e-3, balanced per-label weights, per-lead standardisation).
PRESETS = {
    # 10 % of the patients held out, as for resnet1d-wang-ptbxl-long: with 20 %, the first
    # run of this recipe reached fold-9 macro AUC 0.9235 (0.926 with test-time shifts);
    # with 10 %, 0.926 without them.
    "cardionet-ptbxl": {
        "settings": {
            "architecture": "cardionet",
            **CNN_RECIPE,
            "validation_split": 0.1,
            "epochs": 50,
        },
        "name": "CardioNet PTB-XL",
        "summary": "The published CardioNet 1D-CNN (4,135,717 trainable parameters)",
        "recipe": CNN_RECIPE_TEXT + ", 50 epochs (the PTB-XL benchmark's schedule)",
        "repo_id": "cardionet-sk/cardionet-ptbxl",
    },
    # The same recipe over 30 epochs: the first run of it (fold-9 macro AUC in
    # results/cardionet-ptbxl-onecycle.md), kept to reproduce that number.
    "cardionet-ptbxl-onecycle": {
        "settings": {"architecture": "cardionet", **CNN_RECIPE, "epochs": 30},
        "name": "CardioNet PTB-XL, one-cycle AdamW",
        "summary": "The published CardioNet 1D-CNN (4,135,717 trainable parameters)",
        "recipe": CNN_RECIPE_TEXT + ", 30 epochs",
        "repo_id": "cardionet-sk/cardionet-ptbxl-onecycle",
        "embedded": False,
    },
    "resnet1d-wang-ptbxl": {
        "settings": {"architecture": "resnet1d_wang", **CROP_RECIPE, "epochs": 30},
        "name": "resnet1d_wang PTB-XL",
        "summary": "The PTB-XL benchmark's 1D ResNet (resnet1d_wang, 473,349 trainable parameters)",
        "recipe": CROP_RECIPE_TEXT,
        "repo_id": "cardionet-sk/resnet1d-wang-ptbxl",
    },
    "xresnet1d50-ptbxl": {
        "settings": {"architecture": "xresnet1d", "model__depth": 50, **CROP_RECIPE, "epochs": 40},
        "name": "xresnet1d50 PTB-XL",
        "summary": "The PTB-XL benchmark's xresnet1d50 (bottleneck 1D ResNet, depth 50)",
        "recipe": CROP_RECIPE_TEXT,
        "repo_id": "cardionet-sk/xresnet1d50-ptbxl",
        "embedded": False,
    },
    # The deeper xresnet1d of the benchmark, as the base of its averaged preset only.
    "xresnet1d101-ptbxl": {
        "settings": {"architecture": "xresnet1d", "model__depth": 101, **CROP_RECIPE, "epochs": 40},
        "name": "xresnet1d101 PTB-XL",
        "summary": "The PTB-XL benchmark's xresnet1d101 (bottleneck 1D ResNet, depth 101)",
        "recipe": CROP_RECIPE_TEXT,
        "repo_id": "cardionet-sk/xresnet1d101-ptbxl",
        "embedded": False,
    },
    "resnet1d-wang-ptbxl-5s": {
        "settings": {
            "architecture": "resnet1d_wang",
            **CROP_RECIPE,
            "crop_size": 500,
            "epochs": 30,
        },
        "name": "resnet1d_wang PTB-XL, 5 s crops",
        "summary": "The PTB-XL benchmark's 1D ResNet (resnet1d_wang, 473,349 trainable "
        "parameters), trained on 5 s crops",
        "recipe": CROP_RECIPE_TEXT.replace("2.5 s", "5 s"),
        "repo_id": "cardionet-sk/resnet1d-wang-ptbxl-5s",
        "embedded": False,
    },
    "inception1d-ptbxl": {
        "settings": {"architecture": "inception1d", **CROP_RECIPE, "epochs": 20},
        "name": "inception1d PTB-XL",
        "summary": "The PTB-XL benchmark's inception1d (507,653 trainable parameters)",
        "recipe": CROP_RECIPE_TEXT,
        "repo_id": "cardionet-sk/inception1d-ptbxl",
    },
}


def longer(name):
    """The preset ``name`` on more records for more epochs: 10 % of the patients held out
    instead of 20 % (the first half of them, since the split takes whole patients in one
    seeded order, so that an ensemble still has records none of its members trained on) and
    a fifth more epochs, as in the whole-task runs of ptbxl_tasks.py that gained most."""
    base = PRESETS[name]
    epochs = base["settings"]["epochs"] * 6 // 5
    return {
        "settings": {**base["settings"], "validation_split": 0.1, "epochs": epochs},
        "name": f"{base['name']}, longer training",
        "summary": f"{base['summary']}; 90 % of folds 1-8, {epochs} epochs",
        "recipe": base["recipe"],
        "repo_id": f"cardionet-sk/{name}-long",
        "embedded": False,
    }


def averaged(name):
    """``longer(name)`` with an exponential moving average of the weights (Polyak averaging):
    the averaged network is validated and kept. Same seed, split and batches as the -long
    run, so the fold-9 difference to it, where there is one, is the averaging's alone."""
    long = longer(name)
    return {
        "settings": {**long["settings"], **EMA},
        "name": f"{PRESETS[name]['name']}, averaged weights",
        "summary": f"{long['summary']}, its weights a moving average",
        "recipe": long["recipe"].replace(
            "; the best epoch by",
            "; an exponential moving average of the weights (momentum 0.998 a step); the "
            "best epoch of the averaged network by",
        ),
        "repo_id": f"cardionet-sk/{name}-ema",
    }


# The networks the ensemble gains most from, trained longer and with averaged weights; the
# averaged xresnet1d50 and 5 s ResNet replace the presets they derive from in the package.
for _network in ("resnet1d-wang-ptbxl", "inception1d-ptbxl"):
    PRESETS[f"{_network}-long"] = longer(_network)
    PRESETS[f"{_network}-ema"] = {**averaged(_network), "compared_with": f"{_network}-long"}
for _network in ("resnet1d-wang-ptbxl-5s", "xresnet1d50-ptbxl", "xresnet1d101-ptbxl"):
    PRESETS[f"{_network}-ema"] = averaged(_network)
# The best of them on the PTB-XL benchmark's full schedule, 50 epochs: the same seed, split
# and averaging, so the fold-9 difference to resnet1d-wang-ptbxl-ema is the schedule's alone.
# Its best validation macro AUC, 0.9494, is below that of resnet1d-wang-ptbxl-ema (0.9502),
# which it would have replaced in the package otherwise.
_averaged = PRESETS["resnet1d-wang-ptbxl-ema"]
PRESETS["resnet1d-wang-ptbxl-50ep-ema"] = {
    **_averaged,
    "settings": {**_averaged["settings"], "epochs": 50},
    "name": "resnet1d_wang PTB-XL, averaged weights, 50 epochs",
    "summary": _averaged["summary"].replace(
        f"{_averaged['settings']['epochs']} epochs", "50 epochs (the PTB-XL benchmark's schedule)"
    ),
    "repo_id": "cardionet-sk/resnet1d-wang-ptbxl-50ep-ema",
    "compared_with": "resnet1d-wang-ptbxl-ema",
    "embedded": False,
}


def model_folder(name):
    """Where the preset ``name`` writes its model: the embedded models, or benchmarks/.models."""
    embedded = PRESETS[name].get("embedded", True)
    return (EMBEDDED_DIR if embedded else Path(__file__).parent / ".models") / name


def comparison(name, X9, y9, proba):
    """Fold-9 macro AUC of ``proba`` minus that of the trained preset ``name`` (its network's
    own scores, no calibration), with the paired 95 % bootstrap interval; ``None``, said on
    stdout, while ``name`` has not been trained (the new model is saved all the same)."""
    if not model_folder(name).is_dir():
        print(f"no comparison: train --model {name} first ({model_folder(name)})", flush=True)
        return None
    reference = load_pretrained(model_folder(name))
    difference, interval = paired_difference(
        y9, proba, reference.set_params(calibration=False).predict_proba(X9)
    )
    return {"model": name, "fold9_macro_auc_difference": difference, "95ci": interval}


def evaluate(y, proba, thresholds, classes):
    """Per-class AUC, precision, recall, F1 and support, and their macro averages."""
    predicted = (proba >= thresholds).astype(int)
    precision, recall, f1, support = precision_recall_fscore_support(y, predicted, zero_division=0)
    per_class = {
        name: {
            "auc": roc_auc_score(y[:, k], proba[:, k]),
            "precision": precision[k],
            "recall": recall[k],
            "f1": f1[k],
            "support": int(support[k]),
        }
        for k, name in enumerate(classes)
    }
    return {
        "per_class": {
            n: {k: float(v) if k != "support" else v for k, v in row.items()}
            for n, row in per_class.items()
        },
        "macro_auc": float(roc_auc_score(y, proba, average="macro")),
        "macro_f1": float(np.mean(f1)),
        "micro_f1": float(
            precision_recall_fscore_support(y, predicted, average="micro", zero_division=0)[2]
        ),
    }


def load(data_home):
    return fetch_ptbxl(
        ptbxl_data_home(data_home), folds=range(1, 10), download_if_missing=False, verbose=True
    )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=sorted(PRESETS), default="cardionet-ptbxl")
    parser.add_argument("--data-home", type=Path, default=None)
    parser.add_argument(
        "--checkpoints",
        type=Path,
        default=Path(__file__).parent / ".checkpoints",
        help="where each epoch is backed up; a killed run started again resumes from there",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="folder the model folder <model> is written into (default: the embedded models; "
        "benchmarks/.models for a preset that is not embedded)",
    )
    args = parser.parse_args()
    preset = PRESETS[args.model]
    if args.output is None:
        args.output = model_folder(args.model).parent

    start = time.perf_counter()
    data = load(args.data_home)
    train, tune = data.fold <= 8, data.fold == 9
    print(
        f"loaded {len(data.data)} records in {time.perf_counter() - start:.0f} s: "
        f"{train.sum()} in folds 1-8, {tune.sum()} in fold 9",
        flush=True,
    )

    backup = args.checkpoints / args.model
    resumed = backup.exists()
    if resumed:
        print(f"resuming from the last epoch backed up in {backup}", flush=True)
    clf = CardioNetClassifier(
        class_names=data.target_names,
        fit__callbacks=[keras.callbacks.BackupAndRestore(str(backup)), EpochClock(args.model)],
        **preset["settings"],
    )
    start = time.perf_counter()
    groups = data.patient_id[train]
    clf.fit(data.data[train], data.target[train], groups=groups)
    train_seconds = time.perf_counter() - start
    clf.set_params(fit__callbacks=None)
    print(
        f"trained {len(clf.history_['loss'])} epochs in {train_seconds / 60:.1f} min"
        + (" (this run only: it resumed from a checkpoint)" if resumed else ""),
        flush=True,
    )

    X9, y9 = data.data[tune], data.target[tune]
    proba = clf.predict_proba(X9)
    thresholds, _ = tune_thresholds(y9, proba, objective="f1")
    clf.set_params(threshold=thresholds)
    classes = list(clf.classes_)
    tuned = evaluate(y9, proba, thresholds, classes)
    at_half = evaluate(y9, proba, np.full(5, 0.5), classes)

    with tempfile.TemporaryDirectory() as folder:
        half = load_pretrained(clf.save_pretrained(folder, weights_dtype="float16"))
        proba16 = half.predict_proba(X9)
    auc32 = [round(tuned["per_class"][c]["auc"], 3) for c in classes]
    auc16 = [round(roc_auc_score(y9[:, k], proba16[:, k]), 3) for k in range(5)]
    weights_dtype = "float16" if auc16 == auc32 else "float32"
    print(f"fold-9 AUC float32 {auc32}, float16 {auc16}: storing {weights_dtype}", flush=True)

    compared = (
        comparison(preset["compared_with"], X9, y9, proba) if "compared_with" in preset else None
    )
    machine = describe_machine()
    description = (
        f"{preset['summary']} trained by cardionet-sk on PTB-XL folds 1-8, with "
        "per-class thresholds tuned for F1 on fold 9."
    )
    held_out_share = clf.validation_split
    training = (
        f"`python benchmarks/train_pretrained.py --model {args.model}` ({machine}, "
        f"{train_seconds / 60:.0f} min, {len(clf.history_['loss'])} epochs): folds 1-8 with "
        f"the records of {held_out_share * 100:.0f} % of their patients held out for model "
        f"selection; {preset['recipe']}; "
        f"seed {preset['settings']['random_state']}. Thresholds maximise each class's F1 on fold 9."
    )
    metrics = {
        **tuned,
        "dataset": "PTB-XL fold 9",
        "description": "PTB-XL fold 9 (2,193 records). Thresholds were tuned on this "
        "same fold, so F1, precision and recall are optimistic; AUC "
        "does not depend on thresholds.",
    }
    clf.save_pretrained(
        args.output / args.model,
        weights_dtype=weights_dtype,
        metrics=metrics,
        name=preset["name"],
        description=description,
        training=training,
        repo_id=preset["repo_id"],
        task="superdiagnostic",
    )

    held_out = data.ecg_id[train][clf.validation_records_]
    result = {
        "settings": preset["settings"],
        "validation_ecg_ids": [int(i) for i in held_out],
        "epochs_run": len(clf.history_["loss"]),
        "history": clf.history_,
        "train_minutes": train_seconds / 60,
        "resumed": resumed,
        "machine": machine,
        "thresholds": dict(zip(classes, map(float, thresholds))),
        "fold9_tuned": tuned,
        "fold9_at_0.5": at_half,
        "weights_dtype": weights_dtype,
        "compared_with": compared,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.model}.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = [
        "| class | AUC | F1 (tuned) | F1 (0.5) | threshold | support |",
        "|---|---|---|---|---|---|",
    ]
    for c in classes:
        rows.append(
            f"| {c} | {tuned['per_class'][c]['auc']:.3f} | "
            f"{tuned['per_class'][c]['f1']:.3f} | {at_half['per_class'][c]['f1']:.3f} | "
            f"{result['thresholds'][c]:.2f} | {tuned['per_class'][c]['support']} |"
        )
    rows.append(
        f"| **macro** | **{tuned['macro_auc']:.3f}** | **{tuned['macro_f1']:.3f}** | "
        f"**{at_half['macro_f1']:.3f}** | | |"
    )
    (RESULTS / f"{args.model}.md").write_text(
        f"# {preset['name']}, PTB-XL fold 9\n\n"
        f"`python benchmarks/train_pretrained.py --model {args.model}` on {machine}; "
        f"training {train_seconds / 60:.0f} min. The thresholds, and so F1 (tuned), are tuned "
        "on fold 9 itself: see `thresholds.md` for F1 on records the thresholds were not "
        "tuned on."
        + (
            f" Against `{compared['model']}`, trained with the same seed, held-out patients "
            "and batches: fold-9 macro AUC "
            f"{compared['fold9_macro_auc_difference']:+.4f} (95 % paired bootstrap interval "
            f"{compared['95ci'][0]:+.4f} to {compared['95ci'][1]:+.4f}; an interval that holds "
            "zero is no difference)."
            if compared
            else ""
        )
        + "\n\n"
        + "\n".join(rows)
        + "\n"
    )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
