"""The ``cardionet`` command: classify ECG records, or whole archives of them, from the shell.

Every failure the user can cause (a missing record, a bad option, a missing or broken
model) ends with exit status 1 and one line on stderr, ``cardionet: error: ...``;
``--traceback`` shows the full Python traceback instead. Usage errors exit with status
2, as argparse does. ``predict`` checks its arguments and files before TensorFlow loads,
and skips the records it cannot read or classify (``--strict`` makes them fatal).

Records and the model live in :mod:`._cli_records`, output formats in :mod:`._cli_output`.
"""

import argparse
import contextlib
import io
import json
import os
import sys
import traceback

import numpy as np
from tqdm import tqdm

from ._cli_output import (
    FORMATS,
    RESUMABLE,
    check_output,
    has_warning_column,
    output_format,
    read_done,
    to_stdout,
    writer,
)
from ._cli_records import find_records, record_key
from ._input_contract import resample
from ._scoring import (
    Row,
    adapted,
    classify,
    estimate_population_priors,
    input_rate,
    load_model,
    n_parameters,
    one_line,
    predicted,
    score,
)
from ._version import __version__
from .hub._resolve import DEFAULT_MODEL

_EPILOG = """\
examples:
  cardionet                                   classify the bundled PTB-XL sample
  cardionet predict records100/00000/00001_lr.hea records100/00000/00002_lr
  cardionet predict --format csv rec1.hea rec2.hea > probabilities.csv
  cardionet predict 'archive/**/*.hea' --output probabilities.csv
  cardionet predict --model ./my-model --format json rec1.hea
  cardionet info --model cardionet-sk/cardionet-ptbxl

A record is a WFDB header (.hea) path or the record path without extension;
`predict` also takes folders and glob patterns. Records of any sampling rate
are resampled to the model's, their leads matched by name (aVR/AVR/-aVR,
DI/DII/DIII ...; extra leads ignored); each must be at least as long as the
model's shortest record (see `cardionet info`).
Exit status: 0 on success, 1 on an error (one line on stderr), 2 on a usage
error.

Research use only: not a medical device."""

_PREDICT_EPILOG = """\
examples:
  cardionet predict ptbxl/records100/00000/00001_lr.hea
  cardionet predict ptbxl/records100/00000/00001_lr ptbxl/records100/00000/00002_lr
  cardionet predict --format csv ptbxl/records100/00000/*.hea > probabilities.csv
  cardionet predict ptbxl/records100 --output probabilities.csv
  cardionet predict 'archive/**/*.hea' --output probabilities.jsonl --batch-size 512
  cardionet predict 'archive/**/*.hea' --output probabilities.jsonl --resume
  cardionet predict archive --output probabilities.parquet      (needs pyarrow)
  cardionet predict archive --output probabilities.csv --adapt-priors
  cardionet predict --model cardionet-sk/cardionet-ptbxl --format json rec.hea

Records: a RECORD is a WFDB header (.hea), a record path without extension, a
folder (every *.hea below it) or a glob pattern, quoted so that cardionet
expands it (** matches any depth, which shells' limits on arguments never
reach). Each record is classified once, in the order of the arguments;
folders and patterns are sorted. Signal files may be WFDB .dat or the
challenge .mat format; units mV, uV or V. Each record is resampled from the
rate its header gives to the model's (anti-aliasing polyphase filter), its
leads taken by name; a record shorter than the model's minimum (`cardionet
info`) or lacking one of its leads is skipped with the reason.

Output: one row per record with the probability of each class and the
classes whose probability reaches the model's threshold (`predicted` in the
table, CSV and Parquet, `labels` in JSON; `-` when there is none), and in
`warning` what the signal checks found (microvolts instead of mV, flat or
clipped leads, a heart rate implausible at the record's sampling rate; empty
when nothing; a line under the row in the table); stderr counts such
records. A record
that cannot be read or that the model cannot take is skipped: its row has no
probabilities and the reason in `error`, and a line on stderr counts them.
With --strict the first such record ends the run. Exit status 1 when no
record could be classified.

Memory: records are read, classified and written --batch-size at a time, so
memory holds the model and about three times --batch-size records (a 10 s
12-lead record takes 48 kB at 100 Hz, 240 kB at 500 Hz): about 40 MB at 100
Hz and 200 MB at 500 Hz for the default 256, whatever the archive's size.
Only the list of record paths grows with it.

Prevalences: the probabilities are calibrated at PTB-XL's prevalences (about
42 % NORM). --adapt-priors scores the records twice: a first pass estimates
each class's prevalence among them (EM, from the model's own outputs; no
labels needed), printed beside the model's and written to FILE.priors.json
beside --output; the second pass writes the probabilities moved to those
prevalences by Bayes' rule. The predicted labels stay those of the model's
thresholds, moved with the probabilities.

Resume: --resume continues an interrupted run. It reads --output (CSV or JSON
Lines), skips the records already there, classified or skipped, and appends
the others; a last line cut short is written again. Run it with the same
arguments from the same folder. JSON and Parquet files end with a footer and
cannot be appended to: write JSON Lines and convert at the end."""

_INFO_EPILOG = """\
examples:
  cardionet info
  cardionet info --model ./my-model
  cardionet info --model cardionet-sk/cardionet-ptbxl"""


# -- commands -----------------------------------------------------------------------------


def _demo(args):
    from .datasets import load_sample

    model = load_model(args.model)
    sample = load_sample()
    records = resample(sample.data, sample.sampling_rate, input_rate(model.config))
    proba, labels = classify(model, records, ["the bundled sample"])
    classes = list(model.classifier.classes_)
    rows = [
        Row(str(i), p, lab) for i, p, lab in zip(sample.ecg_id, proba, predicted(classes, labels))
    ]
    buffer = io.StringIO()
    out = writer(
        buffer,
        args.format,
        classes,
        record_width=max(len(r.record) for r in rows),
        warning=False,  # the bundled records pass the signal checks
    )
    out.write(rows)
    out.close()
    table = buffer.getvalue().rstrip("\n")
    print(
        f"cardionet-sk: {len(sample.data)} PTB-XL sample records classified by "
        f"{model.config.name} (true labels in the last column)\n"
    )
    if args.format == "table":
        true = [
            " ".join(c for c, on in zip(sample.target_names, t) if on) or "-" for t in sample.target
        ]
        lines = table.splitlines()
        width = max(map(len, lines))
        table = "\n".join(f"{line.ljust(width)}  {t}" for line, t in zip(lines, ["true", *true]))
    print(table)
    print(
        "\nData: PTB-XL v1.0.1 (Wagner et al. 2020, PhysioNet, CC BY 4.0). "
        "Research use only, not a medical device."
    )


def _predict(args):
    # Everything that can fail on the command line's account fails before TensorFlow loads.
    check_output(args.output, args.format)
    names = find_records(args.records)
    done, written_with = read_done(args.output, args.format) if args.resume else ([], None)
    done_keys = {record_key(name) for name in done}
    todo = [name for name in names if record_key(name) not in done_keys]

    model = load_model(args.model)
    classes = [str(c) for c in model.classifier.classes_]
    if written_with is not None and written_with != classes:
        raise ValueError(
            f"{args.output} holds the classes {' '.join(written_with)}, but the model "
            f"predicts {' '.join(classes)}: --resume continues a run of the same model."
        )
    warning = not args.resume or has_warning_column(args.output, args.format)
    priors = _population_priors(args, model, names) if args.adapt_priors else None
    scored, skipped, first_error, flagged = _write_rows(args, model, todo, classes, warning, priors)
    _report_flagged(args, flagged, warning)
    return _report(args, scored, skipped, first_error, n_kept=len(names) - len(todo))


@contextlib.contextmanager
def _output_stream(output, fmt, append):
    if to_stdout(output):
        yield sys.stdout  # Parquet never: the usage check asks for a file
        return
    binary = fmt == "parquet"
    mode = ("a" if append else "w") + ("b" if binary else "")
    encoding, newline = (None, None) if binary else ("utf-8", "")
    with open(output, mode, encoding=encoding, newline=newline) as stream:
        yield stream


def _priors_file(output):
    """Where ``--adapt-priors`` writes the prevalences: beside the output file."""
    return f"{output}.priors.json"


def _population_priors(args, model, names):
    """``(source, target)`` prevalences for ``--adapt-priors``: estimated from every record
    in a first pass, or, on ``--resume``, those the interrupted run wrote beside its output
    (so that the rows before and after the interruption are adapted alike)."""
    saved = None if to_stdout(args.output) else _priors_file(args.output)
    classes = [str(c) for c in model.classifier.classes_]
    if args.resume and saved is not None and os.path.exists(saved):
        with open(saved, encoding="utf-8") as file:
            data = json.load(file)
        source = np.array([data["source"][c] for c in classes])
        target = np.array([data["estimated"][c] for c in classes])
        print(f"cardionet: prevalences of {saved} kept (--resume)", file=sys.stderr)
        return source, target
    source, target, n_records = estimate_population_priors(model, names, batch_size=args.batch_size)
    print(
        f"cardionet: prevalences estimated from {n_records:,} records (EM), source in brackets: "
        + ", ".join(f"{c} {t:.3f} ({s:.3f})" for c, t, s in zip(classes, target, source)),
        file=sys.stderr,
    )
    if saved is not None:
        data = {
            "method": "EM (Saerens, Latinne & Decaestecker 2002)",
            "n_records": n_records,
            "source": dict(zip(classes, map(float, source))),
            "estimated": dict(zip(classes, map(float, target))),
            "model": model.config.name,
        }
        with open(saved, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=2)
            file.write("\n")
    return source, target


def _write_rows(args, model, names, classes, warning=True, priors=None):
    """Score ``names`` batch by batch into the output.

    Returns the numbers of records scored and skipped, the first skipped one's error and
    the number of records flagged by the signal checks: counts, not rows, as an archive
    may hold millions of unreadable records. ``warning=False`` appends to a CSV file
    written without the ``warning`` column, in its layout.
    """
    append = args.resume and os.path.exists(args.output) and os.path.getsize(args.output) > 0
    show_progress = sys.stderr.isatty() if args.progress is None else args.progress
    scored, skipped, first_error, flagged = 0, 0, None, 0
    with (
        _output_stream(args.output, args.format, append) as stream,
        tqdm(total=len(names), unit="record", disable=not show_progress, file=sys.stderr) as bar,
    ):
        out = writer(
            stream,
            args.format,
            classes,
            header=not append,
            record_width=max(map(len, names), default=0),
            warning=warning,
            descriptions=model.config.class_descriptions,
        )
        try:
            for rows in score(model, names, batch_size=args.batch_size, strict=args.strict):
                if priors is not None:
                    rows = list(adapted(rows, *priors))
                out.write(rows)
                bar.update(len(rows))
                errors = [row.error for row in rows if row.error is not None]
                first_error = first_error or (errors[0] if errors else None)
                scored, skipped = scored + len(rows) - len(errors), skipped + len(errors)
                flagged += sum(bool(row.warning) for row in rows)
        except BaseException:
            out.close(failed=True)  # a valid file of the rows so far, for --resume
            raise
        out.close()
    return scored, skipped, first_error, flagged


def _report_flagged(args, flagged, warning):
    """Count on stderr the records the signal checks flagged, and say where they are."""
    if not flagged:
        return
    if not warning:
        where = f"{args.output} has no warning column (written by an older cardionet)"
    else:
        where = "see the " + (
            "'warning:' lines under their rows" if args.format == "table" else "warning column"
        )
        where += "" if to_stdout(args.output) else f" of {args.output}"
    print(f"cardionet: {flagged:,} records flagged by signal checks: {where}", file=sys.stderr)


def _report(args, scored, skipped, first_error, n_kept):
    """Say on stderr what was skipped and kept; 1 if nothing could be classified."""
    message = f"scored {scored:,} records"
    if n_kept:
        message += f", kept the {n_kept:,} already in {args.output}"
    if skipped:
        where = "rows marked 'skipped'" if args.format == "table" else "error column"
        message += (
            f", skipped {skipped:,}: see the {where}"
            + ("" if to_stdout(args.output) else f" of {args.output}")
            + f"; the first: {first_error}"
        )
    if skipped and not scored and not n_kept:
        print(f"cardionet: error: {message}", file=sys.stderr)
        return 1
    if skipped or n_kept:
        print(f"cardionet: {message}", file=sys.stderr)
    return 0


def _info(args):
    model = load_model(args.model)
    config = model.config
    version = config.cardionet_sk_version
    print(
        f"{config.name} ("
        + (f"cardionet-sk {version}, " if version else "")
        + f"architecture {config.architecture}, "
        f"{n_parameters(model):,} parameters)"
    )
    if config.description:
        print(config.description)
    if config.task:
        print(f"labels: {config.n_labels}, task {config.task}")
    spec = config.input
    print(
        f"input: {spec.n_timesteps} samples ({spec.duration:g} s) at {spec.sampling_rate:g} Hz, "
        f"leads {' '.join(spec.leads)}, {spec.units}"
        + (
            f"; records at {input_rate(config):g} Hz are cut into such windows"
            if config.preprocessing
            else ""
        )
    )
    print(
        f"records: any sampling rate (resampled to {input_rate(config):g} Hz), leads matched "
        f"by name, at least {model.min_duration:g} s long"
    )
    print(
        "thresholds: "
        + ", ".join(f"{c} {t:.2f}" for c, t in zip(config.classes, config.thresholds))
    )
    metrics = config.metrics or {}
    if "macro_auc" in metrics and "macro_f1" in metrics:
        print(
            f"{metrics.get('dataset', 'evaluation')}: macro AUC {metrics['macro_auc']:.3f}, "
            f"macro F1 {metrics['macro_f1']:.3f}"
        )
    if metrics.get("subgroups"):
        # Imported here, not at the top: `cardionet --help` need not load huggingface_hub.
        from .hub._card import subgroup_summary_lines

        print(f"by subgroup ({metrics['subgroups']['dataset']}, 95 % bootstrap intervals):")
        for line in subgroup_summary_lines(metrics["subgroups"]):
            print(f"  {line}")
    if config.repo_id:
        print(f"Hugging Face Hub: {config.repo_id}")
    print("Research use only, not a medical device.")


# -- entry point --------------------------------------------------------------------------


def _batch_size(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _add_predict_options(predict):
    predict.add_argument(
        "records",
        nargs="+",
        metavar="RECORD",
        help="WFDB record (its .hea header, or its path without extension), folder of "
        "records (searched recursively), or quoted glob pattern such as 'archive/**/*.hea'",
    )
    predict.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="output format (default: from the suffix of --output, else table)",
    )
    predict.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default=None,
        help="write the rows to FILE as they are classified (default: standard output, "
        "also '-'; Parquet needs a file)",
    )
    predict.add_argument(
        "--batch-size",
        type=_batch_size,
        default=256,
        metavar="N",
        help="records read and classified at a time; memory grows with it, not with the "
        "number of records (default: 256)",
    )
    predict.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run: keep the rows already in --output (CSV or JSON "
        "Lines) and append those of the other records",
    )
    predict.add_argument(
        "--strict",
        action="store_true",
        help="end the run at the first record that cannot be read or classified, instead "
        "of reporting it in its row and going on",
    )
    predict.add_argument(
        "--adapt-priors",
        action="store_true",
        help="adapt the probabilities to the prevalences of the records' population, "
        "estimated from the records themselves (EM) in a first pass; printed with the "
        "model's own and written beside --output as FILE.priors.json (kept by --resume); "
        "predicted labels do not change",
    )
    predict.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on stderr (default: when stderr is a terminal)",
    )
    # Checked after parsing, still before TensorFlow loads: options that contradict each other.
    predict.set_defaults(usage_error=predict.error)


def _check_predict_usage(args):
    """Resolve ``--format``; exit with status 2 on options that contradict each other."""
    try:
        args.format = output_format(args.format, args.output)
    except ValueError as exc:
        args.usage_error(str(exc))
    if args.format == "parquet" and to_stdout(args.output):
        args.usage_error("Parquet is written to a file: pass --output FILE.parquet")
    if args.resume and to_stdout(args.output):
        args.usage_error("--resume continues the file of --output: pass --output FILE")
    if args.resume and args.format not in RESUMABLE:
        args.usage_error(
            f"--resume appends to CSV and JSON Lines files, not {args.format}: "
            "write --format csv or jsonl"
        )


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
        f"Hub repository id (default: the embedded {DEFAULT_MODEL} model)",
    )
    common.add_argument(
        "--traceback",
        action="store_true",
        help="on an error, show the Python traceback instead of a one-line message",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="classify the PTB-XL sample bundled with the package (the default command)",
        description="Classify the 52 PTB-XL records bundled with the package and show their "
        "true labels beside the predictions.",
    )
    demo.add_argument(
        "--format",
        choices=["table", "json", "csv"],
        default="table",
        help="output format (default: table)",
    )
    predict = commands.add_parser(
        "predict",
        parents=[common],
        help="classify WFDB records, folders or archives of them",
        description="Write the per-class probabilities and predicted labels of WFDB records, "
        "a batch at a time.",
        epilog=_PREDICT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_predict_options(predict)
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
    # Read by TensorFlow when it is imported, at the first model load; the lines it logs
    # regardless are silenced there (see _scoring.load_model).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "demo")  # `cardionet` and `cardionet --model X` run the demo
    args = _parser().parse_args(argv)
    if args.command == "predict":
        _check_predict_usage(args)
    run = {"demo": _demo, "predict": _predict, "info": _info}[args.command]
    try:
        status = run(args)
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
            print(f"cardionet: error: {one_line(exc)}", file=sys.stderr)
        return 1
    return status or 0
