"""The ``cardionet`` command: classify ECG records from the shell.

Every failure the user can cause (a missing or corrupt record, a record the
model cannot take, a missing or broken model) ends with exit status 1 and one
line on stderr, ``cardionet: error: ...``; ``--traceback`` shows the full
Python traceback instead. Usage errors exit with status 2, as argparse does.
"""

import argparse
import csv
import io
import json
import os
import sys
import traceback

import numpy as np

from ._version import __version__

_EPILOG = """\
examples:
  cardionet                                   classify the bundled PTB-XL sample
  cardionet predict records100/00000/00001_lr.hea records100/00000/00002_lr
  cardionet predict --format csv rec1.hea rec2.hea > probabilities.csv
  cardionet predict --model ./my-model --format json rec1.hea
  cardionet info --model cardionet-sk/cardionet-ptbxl

A record is a WFDB header (.hea) path or the record path without extension.
Records must have the model's sampling rate, leads and length (see `cardionet
info`); they are rejected with an error, not resampled. Exit status: 0 on
success, 1 on an error (one line on stderr), 2 on a usage error.

Research use only: not a medical device."""

_PREDICT_EPILOG = """\
examples:
  cardionet predict ptbxl/records100/00000/00001_lr.hea
  cardionet predict ptbxl/records100/00000/00001_lr ptbxl/records100/00000/00002_lr
  cardionet predict --format csv ptbxl/records100/00000/*.hea > probabilities.csv
  cardionet predict --model cardionet-sk/cardionet-ptbxl --format json rec.hea

Output: one row per record with the probability of each class and the classes
whose probability reaches the model's threshold (`predicted` in the table and
CSV, `labels` in JSON; `-` when there is none)."""

_INFO_EPILOG = """\
examples:
  cardionet info
  cardionet info --model ./my-model
  cardionet info --model cardionet-sk/cardionet-ptbxl"""


# -- output -------------------------------------------------------------------------------


def _predicted(classes, labels):
    """Names of the predicted classes of each record, from ``predict``'s output."""
    labels = np.asarray(labels)
    if labels.ndim == 1:  # binary classifier: the predicted class itself
        return [[str(classes[int(lab)])] for lab in labels]
    return [[str(c) for c, on in zip(classes, row) if on] for row in labels]


def _probability_table(ids, proba, labels, classes, fmt):
    """Per-record probabilities and predicted labels as a table, JSON or CSV."""
    classes = [str(c) for c in classes]
    predicted = _predicted(classes, labels)
    if fmt == "json":
        return json.dumps(
            [
                {
                    "record": str(r),
                    "probabilities": dict(zip(classes, map(float, p))),
                    "labels": lab,
                }
                for r, p, lab in zip(ids, proba, predicted)
            ],
            indent=2,
        )
    header = ["record", *classes, "predicted"]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        for r, p, lab in zip(ids, proba, predicted):
            writer.writerow([str(r), *(f"{v:.6f}" for v in p), " ".join(lab) or "-"])
        return buffer.getvalue().rstrip("\n")
    rows = [
        [str(r), *(f"{v:.3f}" for v in p), " ".join(lab) or "-"]
        for r, p, lab in zip(ids, proba, predicted)
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.rjust(w) if 0 < i < len(header) - 1 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths))
        ).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines)


# -- model and records --------------------------------------------------------------------


def _load_model(name):
    from ._classifier import CardioNetClassifier

    return CardioNetClassifier.from_pretrained(name)


def _input_rate(clf):
    """Sampling rate, in Hz, of the records the model takes."""
    windower = getattr(clf, "windower_", None)
    if windower is not None:  # e.g. the original CardioNet-XL: 10 s at 500 Hz, cut into windows
        return windower.input_sampling_rate
    return clf.pretrained_config_["input"]["sampling_rate"]


def _check_record(path, record, clf):
    """Reject, naming ``path``, a record whose rate, leads or length the model does not take.

    As :meth:`CardioNetClassifier.from_pretrained` documents, records are never
    resampled, cropped or padded to fit.
    """
    from ._constants import LEADS

    spec = clf.pretrained_config_["input"]
    rate = _input_rate(clf)
    if record.sampling_rate != rate:
        raise ValueError(
            f"{path}: sampled at {record.sampling_rate:g} Hz, but the model expects "
            f"{rate:g} Hz; resample the record first (the model does not resample)."
        )
    expected = [str(lead) for lead in spec["leads"]]
    names = [str(lead) for lead in record.lead_names]
    known = {lead.upper() for lead in LEADS}
    if len(names) != len(expected) or (
        all(lead.upper() in known for lead in expected)
        and [n.upper() for n in names] != [e.upper() for e in expected]
    ):
        raise ValueError(
            f"{path}: has the {len(names)} leads {' '.join(names)}, but the model expects the "
            f"{len(expected)} leads {' '.join(expected)}, in this order."
        )
    fixed_length = (
        getattr(clf, "windower_", None) is None
        and clf.crop_size is None
        and clf.model_.input_shape[1] is not None
    )
    n_timesteps = len(record.signal)
    if fixed_length and n_timesteps != spec["n_timesteps"]:
        raise ValueError(
            f"{path}: has {n_timesteps} samples ({n_timesteps / rate:g} s at {rate:g} Hz), but "
            f"the model expects {spec['n_timesteps']} ({spec['n_timesteps'] / rate:g} s); "
            "records are not cropped or padded."
        )


def _classify(clf, X, paths):
    """Probabilities and labels of records of one length; errors name the records."""
    windower = getattr(clf, "windower_", None)
    try:
        if windower is not None:
            X = windower.fit_transform(X)
        proba = clf.predict_proba(X)
    except ValueError as exc:
        more = f" (and {len(paths) - 1} other records of its length)" if len(paths) > 1 else ""
        raise ValueError(f"{paths[0]}{more}: {exc}") from exc
    return proba, _labels(clf, proba)


def _labels(clf, proba):
    """What ``clf.predict`` returns for these probabilities, without predicting twice."""
    from ._validation import check_thresholds

    if clf.binary_:
        return (proba[:, 1] >= check_thresholds(clf.threshold, 1)[0]).astype(np.int64)
    return (proba >= check_thresholds(clf.threshold, clf.n_classes_)).astype(np.int64)


# -- commands -----------------------------------------------------------------------------


def _demo(args):
    from .datasets import load_sample

    clf = _load_model(args.model)
    sample = load_sample()
    if sample.sampling_rate != _input_rate(clf):
        raise ValueError(
            f"the bundled sample is sampled at {sample.sampling_rate:g} Hz, but the model "
            f"{clf.pretrained_config_['name']!r} expects {_input_rate(clf):g} Hz records."
        )
    proba, labels = _classify(clf, sample.data, ["the bundled sample"])
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
    from .datasets import read_record

    clf = _load_model(args.model)
    signals = []
    for path in args.records:
        record = read_record(path)
        _check_record(path, record, clf)
        signals.append(record.signal)
    # One batch per record length (only models that take several lengths see more than one).
    by_length: dict[int, list[int]] = {}
    for i, signal in enumerate(signals):
        by_length.setdefault(len(signal), []).append(i)
    proba = labels = None
    for rows in by_length.values():
        p, lab = _classify(
            clf, np.stack([signals[i] for i in rows]), [args.records[i] for i in rows]
        )
        if proba is None:
            proba = np.empty((len(signals), *p.shape[1:]), dtype=p.dtype)
            labels = np.empty((len(signals), *lab.shape[1:]), dtype=lab.dtype)
        proba[rows], labels[rows] = p, lab  # type: ignore[index]  # set with proba
    print(_probability_table(args.records, proba, labels, list(clf.classes_), args.format))


def _info(args):
    clf = _load_model(args.model)
    config = clf.pretrained_config_
    spec = config["input"]
    version = config.get("cardionet_sk_version")
    print(
        f"{config['name']} ("
        + (f"cardionet-sk {version}, " if version else "")
        + f"architecture {config['architecture']}, "
        f"{clf.model_.count_params():,} parameters)"
    )
    if config.get("description"):
        print(config["description"])
    n = spec["n_timesteps"]
    windower = getattr(clf, "windower_", None)
    print(
        f"input: {n} samples ({n / spec['sampling_rate']:g} s) at {spec['sampling_rate']:g} Hz, "
        f"leads {' '.join(spec['leads'])}, {spec['units']}"
        + (
            f"; records at {windower.input_sampling_rate:g} Hz are cut into such windows"
            if windower is not None
            else ""
        )
    )
    print(
        "thresholds: "
        + ", ".join(f"{c} {t:.2f}" for c, t in zip(config["classes"], config["thresholds"]))
    )
    metrics = config.get("metrics") or {}
    if "macro_auc" in metrics and "macro_f1" in metrics:
        print(
            f"{metrics.get('dataset', 'evaluation')}: macro AUC {metrics['macro_auc']:.3f}, "
            f"macro F1 {metrics['macro_f1']:.3f}"
        )
    if config.get("repo_id"):
        print(f"Hugging Face Hub: {config['repo_id']}")
    print("Research use only, not a medical device.")


# -- entry point --------------------------------------------------------------------------


def _parser():
    parser = argparse.ArgumentParser(
        prog="cardionet",
        description="Classify 12-lead ECGs into the PTB-XL superclasses NORM, MI, STTC, CD "
        "and HYP with a pretrained CardioNet model. Research use only.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--model",
        default=None,
        metavar="REPO_OR_DIR",
        help="embedded model name, model folder written by save_pretrained, or Hugging Face "
        "Hub repository id (default: the embedded cardionet-ptbxl model)",
    )
    common.add_argument(
        "--traceback",
        action="store_true",
        help="on an error, show the Python traceback instead of a one-line message",
    )
    fmt = argparse.ArgumentParser(add_help=False)
    fmt.add_argument(
        "--format",
        choices=["table", "json", "csv"],
        default="table",
        help="output format (default: table)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "demo",
        parents=[common, fmt],
        help="classify the PTB-XL sample bundled with the package (the default command)",
        description="Classify the 52 PTB-XL records bundled with the package and show their "
        "true labels beside the predictions.",
    )
    predict = commands.add_parser(
        "predict",
        parents=[common, fmt],
        help="classify WFDB records",
        description="Print the per-class probabilities and predicted labels of WFDB records.",
        epilog=_PREDICT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict.add_argument(
        "records",
        nargs="+",
        metavar="RECORD",
        help="WFDB record: its .hea header, or its path without extension",
    )
    commands.add_parser(
        "info",
        parents=[common],
        help="summarise the model card",
        description="Summarise a model's card: input it expects, classes and thresholds, "
        "evaluation.",
        epilog=_INFO_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _one_line(exc):
    """``exc`` as one line: OSErrors as ``reason: file``, whitespace runs collapsed."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        message = f"{exc.strerror}: {exc.filename}"
    else:
        message = str(exc) or type(exc).__name__
    if not isinstance(exc, (OSError, ValueError)):
        message = f"{type(exc).__name__}: {message}"
    return " ".join(message.split())


def main(argv=None):
    """Entry point of the ``cardionet`` console script and of ``python -m cardionet_sk``.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 1 on an error (reported on one line of stderr).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "demo")  # `cardionet` and `cardionet --model X` run the demo
    args = _parser().parse_args(argv)
    run = {"demo": _demo, "predict": _predict, "info": _info}[args.command]
    try:
        run(args)
    except KeyboardInterrupt:
        print("cardionet: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (`cardionet predict ... | head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        if args.traceback:
            traceback.print_exc()
        else:
            print(f"cardionet: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    return 0
