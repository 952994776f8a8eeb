"""``cardionet predict`` on archives: folders and glob patterns, batches in bounded memory,
records skipped with their reason, incremental CSV / JSON Lines / Parquet, ``--resume``.

Runs are in-process with :func:`cardionet_sk._cli.main` where TensorFlow's presence does not
matter; the checks of what happens before TensorFlow loads, and of memory, use subprocesses.
"""

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _helpers import CLASSES, TF_IMPORT_LOG, optional_import, write_record

from cardionet_sk import CardioNetClassifier
from cardionet_sk._cli import main
from cardionet_sk.datasets import read_record

#: The tiny saved model of test_cli, a fixture of this module too.


def make_archive(root, n, per_folder=100):
    """``n`` 10 s 12-lead 100 Hz records, ``per_folder`` to a folder of ``root``.

    wfdb writes some 100 records a second, so eight distinct records are written and the
    others are copies of them under their own names.
    """
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    templates = [
        write_record(root, f"template{i}", rng.normal(scale=0.2, size=(1000, 12)))
        for i in range(min(n, 8))
    ]
    headers = []
    for i in range(n):
        template, name = templates[i % len(templates)], f"{i:05d}_lr"
        folder = root / f"{i // per_folder:05d}"
        folder.mkdir(exist_ok=True)
        header = folder / f"{name}.hea"
        header.write_text(template.read_text().replace(template.stem, name))
        header.with_suffix(".dat").write_bytes(template.with_suffix(".dat").read_bytes())
        headers.append(header)
    for template in templates:
        template.unlink()
        template.with_suffix(".dat").unlink()
    return headers


def read_csv(path):
    with open(path, newline="") as file:
        return list(csv.reader(file))


def read_rows(path, fmt):
    """``(records, probabilities with NaN for skipped records, predicted, errors)``."""
    if fmt == "csv":
        rows = read_csv(path)[1:]
        records, predicted, errors = ([row[i] for row in rows] for i in (0, -3, -2))
        proba = [[float(v) if v else np.nan for v in row[1:-3]] for row in rows]
        return records, np.array(proba), predicted, errors
    rows = [json.loads(line) for line in Path(path).read_text().splitlines()]
    proba = [
        list((row["probabilities"] or dict.fromkeys(CLASSES, np.nan)).values()) for row in rows
    ]
    records, predicted, errors = (
        [row[key] for row in rows] for key in ("record", "labels", "error")
    )
    return records, np.array(proba), predicted, errors


def assert_same_rows(actual, expected):
    """Equal rows, but for float32 effects of how records were batched on probabilities."""
    np.testing.assert_allclose(actual[1], expected[1], atol=2e-6)
    assert (actual[0], actual[3]) == (expected[0], expected[3])


# -- which records ------------------------------------------------------------------------


def test_folders_patterns_and_files_give_each_record_once_in_order(
    tiny_model, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    make_archive(tmp_path / "archive", 25, per_folder=10)
    arguments = [
        "archive/00001/00012_lr",  # first, as given
        "archive",  # every record, sorted; 00012 again
        "archive/**/0000[0-4]_lr.hea",  # again, spelled by a pattern
        "./archive/00000/00003_lr.hea",  # again, spelled otherwise
    ]
    argv = ["predict", *arguments, "--model", str(tiny_model), "--format", "jsonl"]
    assert main([*argv, "--batch-size", "4"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    rows = [json.loads(line) for line in captured.out.splitlines()]
    everything = [f"archive/{i // 10:05d}/{i:05d}_lr.hea" for i in range(25)]
    assert [row["record"] for row in rows] == [arguments[0]] + [
        name for name in everything if "00012_lr" not in name
    ]
    assert all(row["error"] is None and list(row["probabilities"]) == CLASSES for row in rows)
    clf = CardioNetClassifier.from_pretrained(tiny_model)
    first = clf.predict_proba(read_record(arguments[0]).signal[np.newaxis])[0]
    np.testing.assert_allclose(list(rows[0]["probabilities"].values()), first, rtol=1e-5)


def test_argument_and_file_checks_come_before_tensorflow(tmp_path):
    make_archive(tmp_path / "archive", 3)
    (tmp_path / "empty").mkdir()
    (tmp_path / "foreign.csv").write_text("name,score\nx,1\n")
    cases = [
        (["missing.hea"], 1, "WFDB header not found: missing.hea"),
        (["empty"], 1, "No WFDB header (*.hea) below: empty"),
        (["nothing/**/*.hea"], 1, "No WFDB header (*.hea) matches: nothing/**/*.hea"),
        (["archive", "-o", "no/such/out.csv"], 1, "Folder of --output not found: no/such"),
        (["archive", "-o", "empty"], 1, "--output is a folder"),
        (["archive", "-o", "foreign.csv", "--resume"], 1, "--resume cannot continue it"),
        (["archive", "-o", "out.csv", "--format", "jsonl"], 2, "contradicts the suffix"),
        (["archive", "--resume"], 2, "--resume continues the file of --output"),
        (["archive", "-o", "out.json", "--resume"], 2, "not json: write --format csv"),
        (["archive", "--format", "parquet"], 2, "Parquet is written to a file"),
        (["archive", "--batch-size", "0"], 2, "'0' is not a positive integer"),
    ]
    if importlib.util.find_spec("pyarrow") is None:
        cases.append((["archive", "-o", "out.parquet"], 1, "pip install pyarrow"))
    code = (
        "import json, sys\nfrom cardionet_sk._cli import main\n"
        "for argv in json.loads(sys.argv[1]):\n"
        "    try:\n        status = main(['predict', *argv])\n"
        "    except SystemExit as exit_:\n        status = exit_.code\n"
        "    print(status, 'tensorflow' in sys.modules, flush=True)\n"
        "    print('--', file=sys.stderr, flush=True)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps([argv for argv, _, _ in cases])],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    errors = result.stderr.split("--\n")
    for (argv, status, message), line, error in zip(cases, result.stdout.splitlines(), errors):
        assert line == f"{status} False", (argv, error)
        assert message in error, argv
        assert error.count("error: ") == 1, error
    assert not (tmp_path / "out.csv").exists()


# -- skipped records ----------------------------------------------------------------------


def test_unreadable_records_are_reported_in_their_row_and_skipped(tiny_model, tmp_path, capsys):
    headers = make_archive(tmp_path / "archive", 8)
    dat = headers[1].with_suffix(".dat")
    dat.write_bytes(dat.read_bytes()[:5000])  # truncated
    headers[3].with_suffix(".dat").unlink()  # missing signal file
    headers[4].write_text("not a WFDB header\n")
    odd = write_record(
        tmp_path / "archive" / "00000", "00005_lr", np.zeros((2500, 12)), fs=500
    )  # replaces record 5 by a 5 s one at 500 Hz, shorter than the model's 10 s
    output = tmp_path / "out.csv"
    argv = ["predict", str(tmp_path / "archive"), "--model", str(tiny_model), "-o", str(output)]
    assert main([*argv, "--batch-size", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    rows = read_csv(output)
    assert rows[0] == ["record", *CLASSES, "predicted", "error", "warning"]
    assert [row[0] for row in rows[1:]] == [str(h) for h in headers]
    reasons = {row[0]: row[-2] for row in rows[1:] if row[-2]}
    assert list(reasons) == [str(headers[i]) for i in (1, 3, 4, 5)]
    assert "truncated or corrupt" in reasons[str(headers[1])]
    assert "Signal file of WFDB header" in reasons[str(headers[3])]
    assert "Malformed WFDB header" in reasons[str(headers[4])]
    assert "is 5 s long (2500 samples at 500 Hz), shorter than the 10 s" in reasons[str(odd)]
    for row in rows[1:]:
        assert (row[1:7] == [""] * 6) == bool(row[-2])
    assert captured.err == (
        f"cardionet: scored 4 records, skipped 4: see the error column of {output}; "
        f"the first: {reasons[str(headers[1])]}\n"
    )
    # --strict: the first bad record ends the run, on one line.
    assert main([*argv, "--batch-size", "3", "--strict"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("cardionet: error: ") and "truncated or corrupt" in err


# -- output formats and --resume ----------------------------------------------------------


def test_json_and_table_do_not_depend_on_the_batches(tiny_model, tmp_path, capsys):
    make_archive(tmp_path / "archive", 7)
    argv = ["predict", str(tmp_path / "archive"), "--model", str(tiny_model)]
    outputs = {}
    for fmt in ("json", "table"):
        for batch_size in ("2", "256"):
            assert main([*argv, "--format", fmt, "--batch-size", batch_size]) == 0
            outputs[fmt, batch_size] = capsys.readouterr().out
    one, all_ = (json.loads(outputs["json", size]) for size in ("2", "256"))
    assert [row["record"] for row in one] == [row["record"] for row in all_]
    assert all(row["error"] is None and row["labels"] is not None for row in one)
    np.testing.assert_allclose(
        [list(row["probabilities"].values()) for row in one],
        [list(row["probabilities"].values()) for row in all_],
        atol=2e-6,
    )
    # The widths of the table's columns are known before its first row.
    lines = outputs["table", "2"].splitlines()
    assert lines[0].split() == ["record", *CLASSES, "predicted"]
    assert len(lines) == 8
    assert len({line.index(" 0.") for line in lines[1:]}) == 1


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_resume_appends_the_records_not_yet_in_the_output(tiny_model, tmp_path, capsys, fmt):
    headers = make_archive(tmp_path / "archive", 30, per_folder=10)
    headers[25].write_text("not a WFDB header\n")
    archive = tmp_path / "archive"
    argv = ["predict", "--model", str(tiny_model), "--batch-size", "4"]
    full, part = tmp_path / f"full.{fmt}", tmp_path / f"part.{fmt}"
    assert main([*argv, str(archive), "-o", str(full)]) == 0
    # The interrupted run: two folders of three, and a last line cut short.
    assert main([*argv, str(archive / "00000"), str(archive / "00001"), "-o", str(part)]) == 0
    with open(part, "a") as file:
        file.write(f"{archive}/00002/00020_lr.hea,0.5" if fmt == "csv" else '{"record": "')
    capsys.readouterr()
    assert main([*argv, str(archive), "-o", str(part), "--resume"]) == 0
    assert capsys.readouterr().err.startswith(
        f"cardionet: scored 9 records, kept the 20 already in {part}, skipped 1: "
    )
    expected = read_rows(full, fmt)
    assert len(set(expected[0])) == 30
    assert_same_rows(read_rows(part, fmt), expected)
    # Nothing left to do: nothing appended.
    assert main([*argv, str(archive), "-o", str(part), "--resume"]) == 0
    assert_same_rows(read_rows(part, fmt), expected)
    assert "scored 0 records, kept the 30 already in" in capsys.readouterr().err


def test_resume_refuses_the_output_of_another_model(tiny_model, tmp_path, capsys):
    make_archive(tmp_path / "archive", 2)
    output = tmp_path / "out.csv"
    output.write_text("record,A,B,predicted,error\nx.hea,0.1,0.2,-,\n")
    argv = ["predict", str(tmp_path / "archive"), "--model", str(tiny_model), "-o", str(output)]
    assert main([*argv, "--resume"]) == 1
    assert "holds the classes A B, but the model predicts NORM MI" in capsys.readouterr().err


def test_parquet_is_written_a_row_group_per_batch(tiny_model, tmp_path, capsys):
    pq = optional_import("pyarrow.parquet", "parquet")
    headers = make_archive(tmp_path / "archive", 10)
    headers[7].with_suffix(".dat").unlink()
    argv = ["predict", str(tmp_path / "archive"), "--model", str(tiny_model), "--batch-size", "4"]
    assert main([*argv, "-o", str(tmp_path / "out.parquet")]) == 0
    assert main([*argv, "-o", str(tmp_path / "out.csv")]) == 0
    capsys.readouterr()
    parquet = pq.ParquetFile(tmp_path / "out.parquet")
    assert parquet.num_row_groups == 3
    table = parquet.read().to_pylist()
    assert list(table[0]) == ["record", *CLASSES, "predicted", "error", "warning"]
    for row, line in zip(table, read_csv(tmp_path / "out.csv")[1:], strict=True):
        assert [row["record"], row["predicted"] or "", row["error"] or ""] == [
            line[0],
            *line[-3:-1],
        ]
        expected = [float(v) if v else None for v in line[1:6]]
        assert [row[c] for c in CLASSES] == pytest.approx(expected, abs=1e-6)
    assert table[7]["error"] and table[7]["NORM"] is None


# -- progress and help --------------------------------------------------------------------


def test_progress_bar_only_on_a_terminal_or_on_request(tiny_model, tmp_path, capsys):
    make_archive(tmp_path / "archive", 5)
    argv = ["predict", str(tmp_path / "archive"), "--model", str(tiny_model), "--format", "csv"]
    assert main(argv) == 0  # pytest's stderr is no terminal
    assert capsys.readouterr().err == ""
    assert main([*argv, "--progress", "--batch-size", "2"]) == 0
    captured = capsys.readouterr()
    assert "5/5" in captured.err and "record" in captured.err
    assert "5/5" not in captured.out
    assert main([*argv, "--no-progress"]) == 0
    assert capsys.readouterr().err == ""


def test_predict_help_shows_the_archive_options_and_examples(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    out = capsys.readouterr().out
    for option in ("--output FILE", "--batch-size N", "--resume", "--strict", "--no-progress"):
        assert option in out
    assert "{table,csv,jsonl,json,parquet}" in out
    assert "cardionet predict 'archive/**/*.hea' --output probabilities.jsonl --resume" in out
    assert "Memory: records are read, classified and written --batch-size at a time" in out


# -- memory -------------------------------------------------------------------------------

_PEAK_RSS = (
    "import resource, sys\nfrom cardionet_sk._cli import main\n"
    "status = main(sys.argv[1:])\n"
    "print(status, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
)


def peak_rss(*argv, cwd):
    """Exit status and peak resident memory, in MiB, of ``main(argv)`` in a new process."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert not [line for line in result.stderr.splitlines() if TF_IMPORT_LOG.search(line)]
    status, kib = result.stdout.split()
    return int(status), int(kib) / 1024  # ru_maxrss is in KiB on Linux


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux only")
def test_memory_is_bounded_by_the_batch_not_the_archive(tiny_model, tmp_path):
    n = 3000
    make_archive(tmp_path / "archive", n)
    all_signals_mib = n * 1000 * 12 * 4 / 2**20  # float32: what holding them all would take
    argv = ["predict", "--model", tiny_model, "--batch-size", "64", "--format", "csv"]
    status, baseline = peak_rss(*argv, "archive/00000/0000?_lr.hea", "-o", "ten.csv", cwd=tmp_path)
    assert status == 0
    status, peak = peak_rss(*argv, "archive", "-o", "all.csv", cwd=tmp_path)
    assert status == 0
    assert len(read_csv(tmp_path / "all.csv")) == n + 1
    # TensorFlow's own footprint (~1 GB) is in both runs; the records would add 137 MiB.
    assert peak - baseline < 0.25 * all_signals_mib, (baseline, peak)


# -- signal checks ------------------------------------------------------------------------


@pytest.fixture
def checked_records(tmp_path):
    """A real PTB-XL record in mV and the same record in microvolts, labelled mV."""
    from cardionet_sk.datasets import load_sample

    signal = load_sample().data[0].astype(np.float64)
    folder = tmp_path / "records"
    folder.mkdir()
    return write_record(folder, "normal", signal), write_record(folder, "microvolts", signal * 1000)


def test_signal_checks_fill_the_warning_column_not_python_warnings(
    tiny_model, tmp_path, capsys, checked_records, recwarn
):
    import warnings

    from cardionet_sk import SignalQualityWarning

    normal, microvolts = map(str, checked_records)
    argv = ["predict", normal, microvolts, "--model", str(tiny_model)]
    warnings.simplefilter("always")
    output = tmp_path / "out.csv"
    assert main([*argv, "-o", str(output)]) == 0
    assert not [w for w in recwarn if issubclass(w.category, SignalQualityWarning)]
    err = capsys.readouterr().err
    assert err == (
        f"cardionet: 1 records flagged by signal checks: see the warning column of {output}\n"
    )
    rows = read_csv(output)
    assert rows[0] == ["record", *CLASSES, "predicted", "error", "warning"]
    assert [row[0] for row in rows[1:]] == [normal, microvolts]
    assert rows[1][-1] == ""
    assert "microvolts" in rows[2][-1] and rows[2][-2] == ""
    # The same in JSON Lines and the table.
    assert main([*argv, "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["warning"] == "" and "microvolts" in lines[1]["warning"]
    assert main([*argv, "--format", "table"]) == 0
    captured = capsys.readouterr()
    table = captured.out.splitlines()
    assert len(table) == 4 and table[3].split()[0] == "warning:" and "microvolts" in table[3]
    assert "'warning:' lines" in captured.err


def test_resume_keeps_the_layout_of_a_csv_without_warning_column(
    tiny_model, tmp_path, capsys, checked_records
):
    normal, microvolts = map(str, checked_records)
    output = tmp_path / "old.csv"
    header = ",".join(["record", *CLASSES, "predicted", "error"])
    output.write_text(f"{header}\n{normal},{','.join(['0.5'] * len(CLASSES))},-,\n")
    argv = ["predict", normal, microvolts, "--model", str(tiny_model), "-o", str(output)]
    assert main([*argv, "--resume"]) == 0
    assert "has no warning column" in capsys.readouterr().err
    rows = read_csv(output)
    assert [len(row) for row in rows] == [len(CLASSES) + 3] * 3
    assert [row[0] for row in rows[1:]] == [normal, microvolts]


def test_each_record_is_checked_once_and_the_loaded_estimator_is_left_as_it_was(
    tiny_model, checked_records, monkeypatch
):
    from cardionet_sk import _signal_checks
    from cardionet_sk._scoring import score, scoring_model

    checked = []
    check = _signal_checks.check_signal_quality

    def counted(X, *args, **kwargs):
        checked.append(len(X))
        return check(X, *args, **kwargs)

    monkeypatch.setattr(_signal_checks, "check_signal_quality", counted)
    clf = CardioNetClassifier.from_pretrained(tiny_model)
    model = scoring_model(clf)
    rows = [
        row
        for batch in score(model, list(map(str, checked_records)), batch_size=8, strict=False)
        for row in batch
    ]
    assert "microvolts" in rows[1].warning
    assert checked == [1, 1]  # one check of each record, raw, for its row
    assert clf.signal_checks is True and model.classifier is not clf
    assert model.classifier.model_ is clf.model_  # a copy that shares the network


def test_adapt_priors_estimates_then_scores_and_resume_keeps_the_estimate(
    tmp_path, capsys, fold9_home
):
    from cardionet_sk import adjust_probabilities, estimate_priors_em, load_pretrained

    headers = sorted((fold9_home / "ptbxl" / "records100").glob("*/*.hea"))[:40]
    output = tmp_path / "adapted.csv"
    argv = ["predict", *map(str, headers), "-o", str(output), "--adapt-priors"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "prevalences estimated from 40 records (EM), source in brackets: NORM " in err
    priors = json.loads((tmp_path / "adapted.csv.priors.json").read_text())
    classes = list(priors["estimated"])
    assert classes == CLASSES and priors["n_records"] == 40

    model = load_pretrained()
    X = np.stack([read_record(h).signal for h in headers])
    raw = model.predict_proba(X)
    source = np.array([priors["source"][c] for c in classes])
    target, _, _ = estimate_priors_em(raw, source)
    np.testing.assert_allclose([priors["estimated"][c] for c in classes], target, rtol=1e-4)
    rows = read_csv(output)
    written = np.array([[float(v) for v in row[1:6]] for row in rows[1:]])
    np.testing.assert_allclose(written, adjust_probabilities(raw, source, target), atol=1e-5)
    # The labels are the model's own: the thresholds moved with the probabilities.
    expected = [" ".join(np.asarray(classes)[r.astype(bool)]) or "-" for r in model.predict(X)]
    assert [row[6] for row in rows[1:]] == expected

    # An interrupted run resumes with the prevalences it estimated, not new ones.
    output.write_text("\n".join(",".join(row) for row in rows[:21]) + "\n")
    assert main([*argv, "--resume"]) == 0
    assert "prevalences of" in capsys.readouterr().err
    resumed = read_csv(output)
    assert [row[0] for row in resumed] == [row[0] for row in rows]
    np.testing.assert_allclose(
        np.array([[float(v) for v in row[1:6]] for row in resumed[1:]]), written, atol=1e-5
    )
