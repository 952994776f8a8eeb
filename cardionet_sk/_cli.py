"""The ``cardionet`` command: classify ECG records from the shell."""

import argparse
import json
import sys

import numpy as np


def _probability_table(ids, proba, labels, classes, fmt):
    """Per-record probabilities and predicted labels as a table, JSON or CSV."""
    if fmt == "json":
        return json.dumps(
            [
                {
                    "record": str(r),
                    "probabilities": dict(zip(classes, map(float, p))),
                    "labels": [c for c, on in zip(classes, lab) if on],
                }
                for r, p, lab in zip(ids, proba, labels)
            ],
            indent=2,
        )
    header = ["record", *classes, "predicted"]
    rows = [
        [str(r), *(f"{v:.3f}" for v in p), " ".join(c for c, on in zip(classes, lab) if on) or "-"]
        for r, p, lab in zip(ids, proba, labels)
    ]
    if fmt == "csv":
        return "\n".join(",".join(row) for row in [header, *rows])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.rjust(w) if 0 < i < len(header) - 1 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths))
        )
        for row in [header, *rows]
    ]
    return "\n".join(lines)


def _demo(args):
    from . import CardioNetClassifier
    from .datasets import load_sample

    sample = load_sample()
    clf = CardioNetClassifier.from_pretrained(args.model)
    proba = clf.predict_proba(sample.data)
    labels = clf.predict(sample.data)
    print(
        f"cardionet-sk: {len(sample.data)} PTB-XL sample records classified by "
        f"{clf.pretrained_config_['name']} (true labels in the last column)\n"
    )
    true = [
        " ".join(c for c, on in zip(sample.target_names, t) if on) or "-" for t in sample.target
    ]
    table = _probability_table(sample.ecg_id, proba, labels, list(clf.classes_), args.format)
    if args.format == "table":
        lines = table.splitlines()
        width = max(map(len, lines))
        table = "\n".join(f"{line.ljust(width)}  {t}" for line, t in zip(lines, ["true", *true]))
    print(table)
    print(
        "\nData: PTB-XL v1.0.1 (Wagner et al. 2020, PhysioNet, CC BY 4.0). "
        "Research use only, not a medical device."
    )


def _predict(args):
    from . import CardioNetClassifier
    from .datasets import read_record

    clf = CardioNetClassifier.from_pretrained(args.model)
    spec = clf.pretrained_config_["input"]
    records = [read_record(path) for path in args.records]
    for path, record in zip(args.records, records):
        if record.sampling_rate != spec["sampling_rate"]:
            raise ValueError(
                f"{path}: sampled at {record.sampling_rate:g} Hz, but the model "
                f"expects {spec['sampling_rate']:g} Hz."
            )
    X = np.stack([record.signal for record in records])
    print(
        _probability_table(
            args.records, clf.predict_proba(X), clf.predict(X), list(clf.classes_), args.format
        )
    )


def _info(args):
    from . import CardioNetClassifier

    clf = CardioNetClassifier.from_pretrained(args.model)
    config = clf.pretrained_config_
    spec = config["input"]
    print(
        f"{config['name']} (cardionet-sk {config['cardionet_sk_version']}, "
        f"architecture {config['architecture']})"
    )
    if config.get("description"):
        print(config["description"])
    print(
        f"input: {spec['n_timesteps']} samples at {spec['sampling_rate']:g} Hz, "
        f"leads {' '.join(spec['leads'])}, {spec['units']}"
    )
    print(
        "thresholds: "
        + ", ".join(f"{c} {t:.2f}" for c, t in zip(config["classes"], config["thresholds"]))
    )
    metrics = config.get("metrics") or {}
    if metrics:
        print(
            f"{metrics.get('dataset', 'evaluation')}: macro AUC {metrics['macro_auc']:.3f}, "
            f"macro F1 {metrics['macro_f1']:.3f}"
        )
    print("Research use only, not a medical device.")


def main(argv=None):
    """Entry point of the ``cardionet`` console script and of ``python -m cardionet_sk``."""
    parser = argparse.ArgumentParser(
        prog="cardionet",
        description="Classify 12-lead ECGs into the PTB-XL superclasses NORM, MI, STTC, CD "
        "and HYP with a pretrained CardioNet model. Research use only.",
    )
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument(
        "--model",
        default=None,
        metavar="REPO_OR_DIR",
        help="embedded model name, model folder or Hugging Face repository "
        "(default: the embedded default model)",
    )
    fmt = argparse.ArgumentParser(add_help=False)
    fmt.add_argument("--format", choices=["table", "json", "csv"], default="table")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "demo",
        parents=[model, fmt],
        help="classify the PTB-XL sample bundled with the package (default)",
    )
    predict = commands.add_parser(
        "predict", parents=[model, fmt], help="classify WFDB records (.hea paths)"
    )
    predict.add_argument("records", nargs="+", metavar="RECORD")
    commands.add_parser("info", parents=[model], help="summarise the model card")
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo", *(argv or [])])
    run = {"demo": _demo, "predict": _predict, "info": _info}[args.command]
    try:
        run(args)
    except (OSError, ValueError) as exc:
        print(f"cardionet: error: {exc}", file=sys.stderr)
        return 1
    return 0
