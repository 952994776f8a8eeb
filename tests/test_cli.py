"""The ``cardionet`` command, run as a user runs it: in a subprocess, on real PTB-XL records.

Every subprocess imports TensorFlow (5-10 s), so the command-line behaviour is checked in a
handful of runs; the rules for records a model cannot take are checked in-process with
:func:`cardionet_sk._cli.main`.
"""

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _helpers import CLASSES, TF_IMPORT_LOG, THRESHOLDS, write_original_release, write_record

from cardionet_sk import LEADS, CardioNetClassifier, load_pretrained
from cardionet_sk._cli import main
from cardionet_sk._input_contract import resample
from cardionet_sk.datasets import load_sample, read_record


@pytest.fixture(scope="module")
def records(fold9_home):
    """Three real fold-9 records: a .hea path, a path without extension, and a record name
    relative to the working directory, as ``(arguments, cwd, paths read in-process)``."""
    headers = sorted((fold9_home / "ptbxl" / "records100").glob("*/*.hea"))[:3]
    cwd = headers[2].parent
    arguments = [str(headers[0]), str(headers[1].with_suffix("")), headers[2].stem]
    return arguments, cwd, headers


def console_script():
    """The installed ``cardionet`` script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).parent / "cardionet"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "cardionet_sk"]


def cardionet(*args, script=False, cwd=None):
    # As a user's shell runs it: nothing in the environment quiets TensorFlow.
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    command = console_script() if script else [sys.executable, "-m", "cardionet_sk"]
    return subprocess.run(
        [*command, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def own_stderr(result):
    """The lines of stderr, checked to hold none of TensorFlow's log lines."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert not [line for line in lines if TF_IMPORT_LOG.search(line)], result.stderr
    return lines


def assert_one_line_error(result, *fragments):
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = own_stderr(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cardionet: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def expected(tiny_model, records):
    """What the Python API says about the same records."""
    _, _, headers = records
    clf = CardioNetClassifier.from_pretrained(tiny_model)
    X = np.stack([read_record(h).signal for h in headers])
    return clf.predict_proba(X), clf.predict(X)


def predicted_names(labels):
    return [" ".join(c for c, on in zip(CLASSES, row) if on) or "-" for row in labels]


# -- predict ------------------------------------------------------------------------------


def test_predict_json_matches_predict_proba(tiny_model, records, expected):
    arguments, cwd, _ = records
    result = cardionet("predict", *arguments, "--model", tiny_model, "--format", "json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert own_stderr(result) == []
    rows = json.loads(result.stdout)
    proba, labels = expected
    assert [row["record"] for row in rows] == arguments
    assert all(list(row["probabilities"]) == CLASSES for row in rows)
    np.testing.assert_allclose(
        [list(row["probabilities"].values()) for row in rows], proba, rtol=1e-6, atol=1e-7
    )
    assert [" ".join(row["labels"]) or "-" for row in rows] == predicted_names(labels)
    # The tuned thresholds, not 0.5, decide the labels.
    np.testing.assert_array_equal(labels, proba >= THRESHOLDS)


def test_predict_csv_from_the_console_script(tiny_model, records, expected):
    arguments, cwd, _ = records
    result = cardionet(
        "predict", "--format", "csv", "--model", tiny_model, *arguments, script=True, cwd=cwd
    )
    assert result.returncode == 0, result.stderr
    assert own_stderr(result) == []
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["record", *CLASSES, "predicted", "error", "warning"]
    proba, labels = expected
    assert [row[0] for row in rows[1:]] == arguments
    np.testing.assert_allclose([[float(v) for v in row[1:6]] for row in rows[1:]], proba, atol=1e-6)
    assert [row[6] for row in rows[1:]] == predicted_names(labels)
    assert [row[7] for row in rows[1:]] == ["", "", ""]


def test_predict_table(tiny_model, records, expected):
    arguments, cwd, _ = records
    result = cardionet("predict", *arguments, "--model", tiny_model, cwd=cwd)
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header.split() == ["record", *CLASSES, "predicted"]
    proba, labels = expected
    assert len(lines) == len(arguments)
    for line, argument, p, names in zip(lines, arguments, proba, predicted_names(labels)):
        cells = line.split()
        assert cells[0] == argument
        np.testing.assert_allclose([float(v) for v in cells[1:6]], p, atol=5e-4 + 1e-9)
        assert " ".join(cells[6:]) == names


# -- info and help ------------------------------------------------------------------------


def test_info_summarises_the_model_card(tiny_model):
    result = cardionet("info", "--model", tiny_model)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tiny test model (cardionet-sk ")
    assert "architecture cardionet" in lines[0]
    n_params = CardioNetClassifier.from_pretrained(tiny_model).model_.count_params()
    assert f"{n_params:,} parameters" in lines[0]
    assert lines[1] == "A CardioNet small enough for tests."
    assert lines[2] == f"input: 1000 samples (10 s) at 100 Hz, leads {' '.join(LEADS)}, mV"
    assert lines[3] == (
        "records: any sampling rate (resampled to 100 Hz), leads matched by name, "
        "at least 10 s long"
    )
    assert lines[4] == "thresholds: NORM 0.30, MI 0.40, STTC 0.50, CD 0.60, HYP 0.70"
    assert lines[5] == "PTB-XL fold 9: macro AUC 0.500, macro F1 0.250"
    assert "not a medical device" in lines[-1]


def subgroup(n, macro_auc):
    """Subgroup results as ``benchmarks/subgroups_ptbxl.py`` stores them, every class alike."""
    scores = {"auc": macro_auc, "sensitivity": 0.8, "specificity": 0.9}
    return {
        "n": n,
        "positives": dict.fromkeys(CLASSES, n // 5),
        "macro_auc": macro_auc,
        "macro_auc_95ci": [macro_auc - 0.01, macro_auc + 0.01],
        **{f"mean_{key}": scores[key] for key in ("sensitivity", "specificity")},
        **{f"mean_{key}_95ci": None for key in ("sensitivity", "specificity")},
        "per_class": {
            c: {
                **scores,
                **{f"{key}_95ci": [value - 0.01, value + 0.01] for key, value in scores.items()},
            }
            for c in CLASSES
        },
    }


def test_info_summarises_subgroup_performance(tiny_model, tmp_path, capsys):
    subgroups = {
        "dataset": "PTB-XL fold 9",
        "n_bootstrap": 1000,
        "min_count": 5,
        "thresholds": dict(zip(CLASSES, THRESHOLDS)),
        "groups": {"all": subgroup(2193, 0.917), "female": subgroup(1055, 0.93)},
    }
    model = CardioNetClassifier.from_pretrained(tiny_model).save_pretrained(
        tmp_path / "with-subgroups",
        name="tiny test model",
        metrics={
            "dataset": "PTB-XL fold 9",
            "macro_auc": 0.5,
            "macro_f1": 0.25,
            "subgroups": subgroups,
        },
    )
    assert main(["info", "--model", str(model)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[4] == "PTB-XL fold 9: macro AUC 0.500, macro F1 0.250"
    assert lines[5:8] == [
        "by subgroup (PTB-XL fold 9, 95 % bootstrap intervals):",
        "  all (n=2,193): macro AUC 0.917 (0.907-0.927), mean sensitivity 0.80, "
        "mean specificity 0.90",
        "  female (n=1,055): macro AUC 0.930 (0.920-0.940), mean sensitivity 0.80, "
        "mean specificity 0.90",
    ]
    assert "not a medical device" in lines[-1]


def test_help_lists_the_commands_and_examples():
    result = cardionet("--help", script=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: cardionet ")
    for command in ("demo", "predict", "info"):
        assert re.search(rf"^\s+{command}\s+\S", result.stdout, re.MULTILINE)
    assert "examples:" in result.stdout
    assert "cardionet predict --format csv" in result.stdout


def test_help_and_the_datasets_do_not_import_tensorflow():
    # TensorFlow takes seconds to import: only loading a model should pay for it.
    code = (
        "import sys; from cardionet_sk._cli import main; import cardionet_sk.datasets\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stderr.strip().splitlines()[-1] == "False False"


def test_every_command_has_help_with_examples(capsys):
    for command in ("predict", "info", "demo"):
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: cardionet {command} ")
        assert "--model REPO_OR_DIR" in out
        if command != "demo":
            assert f"examples:\n  cardionet {command}" in out


# -- errors: one line, non-zero exit ------------------------------------------------------


def test_missing_record(tiny_model, records, tmp_path):
    arguments, _, _ = records
    missing = tmp_path / "00042_lr.hea"
    result = cardionet("predict", arguments[0], missing, "--model", tiny_model)
    assert_one_line_error(result, "not found", str(missing))


def test_corrupt_record(tiny_model, records, tmp_path):
    _, _, headers = records
    header = shutil.copy(headers[0], tmp_path)
    data = headers[0].with_suffix(".dat")
    (tmp_path / data.name).write_bytes(data.read_bytes()[:5000])
    result = cardionet("predict", header, "--model", tiny_model, "--strict")
    line = assert_one_line_error(result, str(tmp_path / data.name))
    assert "truncated or corrupt" in line


def test_unknown_model(records):
    arguments, _, _ = records
    result = cardionet("predict", arguments[0], "--model", "./no/such/model")
    assert_one_line_error(result, "'./no/such/model' is neither an existing folder")


@pytest.mark.parametrize(
    "fs, n_timesteps, leads, message",
    [
        (
            100,
            900,
            LEADS,
            "is 9 s long (900 samples at 100 Hz), shorter than the 10 s the model needs",
        ),
        (500, 4000, LEADS, "is 8 s long (4000 samples at 500 Hz), shorter than the 10 s"),
        (100, 1000, LEADS[:6], "lacks the lead(s) V1 V2 V3 V4 V5 V6 of the model"),
    ],
    ids=["9s", "8s-500Hz", "6-leads"],
)
def test_records_the_model_cannot_take_are_rejected_naming_why(
    tiny_model, tmp_path, capsys, fs, n_timesteps, leads, message
):
    signal = np.random.default_rng(0).normal(scale=0.2, size=(n_timesteps, len(leads)))
    header = write_record(tmp_path, "odd", signal, fs=fs, leads=leads)
    assert main(["predict", str(header), "--model", str(tiny_model), "--strict"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"cardionet: error: {header}: ")
    assert message in captured.err
    assert captured.err.count("\n") == 1
    # Without --strict the record is skipped, with its reason in its row; a run that
    # classifies nothing still fails.
    assert main(["predict", str(header), "--model", str(tiny_model), "--format", "csv"]) == 1
    captured = capsys.readouterr()
    row = list(csv.reader(io.StringIO(captured.out)))[1]
    assert row[:7] == [str(header), "", "", "", "", "", ""]
    assert message in row[7]
    assert captured.err.startswith("cardionet: error: scored 0 records, skipped 1: ")


def test_traceback_option_shows_the_traceback(tiny_model, tmp_path, capsys):
    assert main(["info", "--model", str(tmp_path), "--traceback"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback")
    assert "FileNotFoundError" in err and "has no config.json" in err


def test_fully_convolutional_model_takes_records_of_any_length_from_its_crop(tmp_path, capsys):
    sample = load_sample()
    clf = CardioNetClassifier(
        "resnet1d_wang",
        model__filters=(2,),
        model__kernel_sizes=(3, 3),
        model__dense_units=4,
        epochs=1,
        validation_split=0,
        crop_size=250,
        crop_inference="whole",
        random_state=0,
    ).fit(sample.data[:8], sample.target[:8])
    model = clf.save_pretrained(tmp_path / "resnet")
    rng = np.random.default_rng(1)
    signals = [rng.normal(scale=0.2, size=(n, 12)) for n in (1000, 600, 1000)]
    headers = [write_record(tmp_path, f"r{i}", s) for i, s in enumerate(signals)]
    assert main(["predict", *map(str, headers), "--model", str(model), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    loaded = CardioNetClassifier.from_pretrained(model)
    for row, header in zip(rows, headers):
        alone = loaded.predict_proba(read_record(header).signal[np.newaxis])[0]
        np.testing.assert_allclose(list(row["probabilities"].values()), alone, rtol=1e-5)


def test_options_without_a_command_run_the_demo(tiny_model, capsys):
    assert main(["--model", str(tiny_model), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "52 PTB-XL sample records classified by tiny test model" in out
    assert out.count("\n") > 52


def test_original_release_takes_10_s_records_at_500_hz(tmp_path, capsys):
    """The original CardioNet-XL file: its windower cuts 500 Hz records into 2 s windows."""
    (tmp_path / "release").mkdir()
    write_original_release(tmp_path / "release" / "cardionet_xl.h5")
    signal = np.random.default_rng(2).normal(scale=0.2, size=(5000, 12))
    header = write_record(tmp_path, "r500", signal, fs=500)
    argv = ["predict", str(header), "--model", str(tmp_path / "release"), "--format", "json"]
    assert main(argv) == 0
    row = json.loads(capsys.readouterr().out)[0]
    windower, clf = load_pretrained(tmp_path / "release")
    windows = windower.transform(read_record(header).signal[np.newaxis])
    np.testing.assert_allclose(
        list(row["probabilities"].values()), clf.predict_proba(windows)[0], rtol=1e-5
    )
    # A 100 Hz record is resampled to the 500 Hz the release takes, then windowed.
    header100 = write_record(tmp_path, "r100", signal[:1000], fs=100)
    argv = ["predict", str(header100), "--model", str(tmp_path / "release"), "--format", "json"]
    assert main(argv) == 0
    row = json.loads(capsys.readouterr().out)[0]
    upsampled = resample(read_record(header100).signal[np.newaxis], 100, 500)
    np.testing.assert_allclose(
        list(row["probabilities"].values()),
        clf.predict_proba(windower.transform(upsampled))[0],
        rtol=1e-5,
    )


def test_table_describes_each_predicted_label_of_a_model_with_descriptions(tmp_path, capsys):
    sample = load_sample()
    descriptions = ["normal ECG", "myocardial infarction", "ST/T change", "conduction", "hyp"]
    model = (
        CardioNetClassifier(
            model__filters=(2,),
            model__kernel_sizes=(3,),
            model__dense_units=4,
            epochs=1,
            threshold=0.0,
            class_names=sample.target_names,
            random_state=0,
        )
        .fit(sample.data[:16], sample.target[:16])
        .save_pretrained(
            tmp_path / "described", task="superdiagnostic", class_descriptions=descriptions
        )
    )
    header = write_record(tmp_path, "one", sample.data[0].astype(np.float64))
    assert main(["predict", str(header), "--model", str(model), "--format", "table"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["record", "label", "probability", "description"]
    # Threshold 0: every label is predicted, one line each, with its description.
    assert [line.split()[-1] for line in lines[1:]] == [
        "ECG",
        "infarction",
        "change",
        "conduction",
        "hyp",
    ]
    assert lines[1].startswith(str(header)) and lines[2].startswith(" ")
    assert main(["info", "--model", str(model)]) == 0
    assert "labels: 5, task superdiagnostic" in capsys.readouterr().out.splitlines()


def test_the_all_statements_model_prints_each_predicted_statement_described(tmp_path, capsys):
    sample = load_sample()
    header = write_record(tmp_path, "one", sample.data[0].astype(np.float64))
    assert main(["predict", str(header), "--model", "resnet1d-wang-ptbxl-all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["record", "label", "probability", "description"]
    config = CardioNetClassifier.from_pretrained("resnet1d-wang-ptbxl-all").pretrained_config_
    described = dict(zip(config.classes, config.class_descriptions))
    rows = [line[len(str(header)) :].split(maxsplit=2) for line in lines[1:]]
    assert rows and all(described[label] == text for label, _, text in rows)
