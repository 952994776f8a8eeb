"""fetch_ptbxl(task=...): the label sets of the PTB-XL benchmark tasks on real folds 1-9.

The expected labels are computed here from the two CSV files with plain loops, apart from
the package code; the loader's label builder is checked on the whole metadata (no signals),
and fetch_ptbxl end to end on fold 9.
"""

import ast
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _helpers import SHARED_PTBXL, requires_shared_ptbxl

from cardionet_sk.datasets import _ptbxl as ptbxl_module
from cardionet_sk.datasets import fetch_ptbxl
from cardionet_sk.datasets._ptbxl import _read_metadata
from cardionet_sk.datasets._ptbxl_tasks import TASKS, _task_target

SUPERCLASSES = ["NORM", "MI", "STTC", "CD", "HYP"]

#: Per task, as documented: the number of labels and of records with a label in folds 1-9.
DOCUMENTED = {
    "superdiagnostic": (5, 19267),
    "subdiagnostic": (23, 19267),
    "diagnostic": (44, 19267),
    "form": (19, 8106),
    "rhythm": (12, 18963),
    "all": (71, 19634),
}

RHYTHM = ["AFIB", "AFLT", "BIGU", "PACE", "PSVT", "SARRH", "SBRAD", "SR", "STACH", "SVARR"]
RHYTHM += ["SVTAC", "TRIGU"]


def expected_labels(task, database, statements):
    """Each record's set of labels under ``task``, likelihoods ignored, by explicit loops."""
    statement = statements.to_dict("index")
    labels = {}
    for ecg_id, text in database["scp_codes"].items():
        record = set()
        for code in ast.literal_eval(text):
            if task == "all":
                record.add(code)
            elif task in ("form", "rhythm"):
                if statement[code][task] == 1:
                    record.add(code)
            elif statement[code]["diagnostic"] == 1:
                if task == "diagnostic":
                    record.add(code)
                elif task == "subdiagnostic":
                    record.add(statement[code]["diagnostic_subclass"])
                else:
                    record.add(statement[code]["diagnostic_class"])
        labels[ecg_id] = record
    return labels


@pytest.fixture(scope="module")
def csv_tables():
    if not (SHARED_PTBXL / "ptbxl_database.csv").is_file():
        pytest.skip(f"the PTB-XL metadata is read from {SHARED_PTBXL}, which is absent")
    return (
        pd.read_csv(SHARED_PTBXL / "ptbxl_database.csv", index_col="ecg_id"),
        pd.read_csv(SHARED_PTBXL / "scp_statements.csv", index_col=0),
    )


@pytest.fixture(scope="module")
def metadata(csv_tables):
    return _read_metadata(SHARED_PTBXL)


@pytest.mark.parametrize("task", TASKS)
def test_labels_of_every_record_match_the_csv(task, csv_tables, metadata):
    database, statements = metadata
    target, names = _task_target(database["scp_codes"], statements, task)
    expected = expected_labels(task, *csv_tables)
    counts = Counter(label for record in expected.values() for label in record)

    assert target.shape == (19634, len(counts)) and target.dtype == np.int64
    assert set(names) == set(counts)
    assert dict(zip(names, target.sum(axis=0).tolist())) == dict(counts)
    assert int(target.any(axis=1).sum()) == sum(1 for record in expected.values() if record)
    for ecg_id, row in zip(database.index, target):
        assert {name for name, flag in zip(names, row) if flag} == expected[ecg_id], ecg_id


@pytest.mark.parametrize("task", TASKS)
def test_label_and_record_counts_are_those_documented(task, metadata):
    database, statements = metadata
    target, names = _task_target(database["scp_codes"], statements, task)
    assert (len(names), int(target.any(axis=1).sum())) == DOCUMENTED[task]


@pytest.mark.parametrize("task", TASKS)
def test_target_names_are_in_a_stable_order(task, metadata):
    database, statements = metadata
    _, names = _task_target(database["scp_codes"], statements, task)
    # The order of the records does not change the columns.
    _, shuffled = _task_target(database["scp_codes"].iloc[::-1], statements, task)
    assert shuffled == names
    if task == "superdiagnostic":
        assert list(names) == SUPERCLASSES
    else:
        assert list(names) == sorted(names)
    if task == "rhythm":
        assert list(names) == RHYTHM


def test_likelihoods_are_ignored(metadata):
    database, statements = metadata
    codes = [{"SR": 0.0, "NORM": 100.0}, {"SR": 100.0, "NORM": 0.0}]
    target, names = _task_target(codes, statements, "all")
    assert names == ("NORM", "SR")
    np.testing.assert_array_equal(target, [[1, 1], [1, 1]])


def test_an_unknown_task_is_rejected_before_reading_anything(tmp_path):
    message = r"task must be one of 'superdiagnostic', .*'all'; got 'superclass'"
    with pytest.raises(ValueError, match=message):
        fetch_ptbxl(tmp_path, task="superclass", download_if_missing=False)


# -- fetch_ptbxl end to end on fold 9 -----------------------------------------------------


@pytest.fixture(scope="module")
def fold9_default(fold9_home):
    return fetch_ptbxl(fold9_home, folds=[9])


@requires_shared_ptbxl
def test_superdiagnostic_is_the_unchanged_default(fold9_home, fold9_default, csv_tables):
    explicit = fetch_ptbxl(fold9_home, task="superdiagnostic", folds=[9])
    assert fold9_default.task == explicit.task == "superdiagnostic"
    assert fold9_default.target_names.tolist() == SUPERCLASSES
    np.testing.assert_array_equal(explicit.target, fold9_default.target)
    # Unlabelled records are kept by default, as all-zero rows.
    assert fold9_default.target.shape == (2193, 5)
    expected = expected_labels("superdiagnostic", *csv_tables)
    for ecg_id, row in zip(fold9_default.ecg_id, fold9_default.target):
        assert {n for n, flag in zip(SUPERCLASSES, row) if flag} == expected[ecg_id]
    assert sum(1 for ecg_id in fold9_default.ecg_id if not expected[ecg_id]) == 37


@requires_shared_ptbxl
@pytest.mark.parametrize("task", TASKS)
def test_fetch_returns_the_task_labels_of_the_folds(task, fold9_home, fold9_default, metadata):
    database, statements = metadata
    full_target, names = _task_target(database["scp_codes"], statements, task)
    in_fold9 = (database["strat_fold"] == 9).to_numpy()

    kept = fetch_ptbxl(fold9_home, task=task, folds=[9], as_frame=True)
    assert kept.task == task
    # The columns are those of folds 1-9, not only of the fold loaded.
    assert kept.target_names.tolist() == list(names)
    assert kept.target.columns.tolist() == list(names)
    assert kept.target.index.name == "ecg_id"
    np.testing.assert_array_equal(kept.target, full_target[in_fold9])
    assert Path(kept.data.filename) == Path(fold9_default.data.filename)

    dropped = fetch_ptbxl(fold9_home, task=task, folds=[9], drop_unlabelled=True)
    labelled = full_target[in_fold9].any(axis=1)
    assert dropped.target_names.tolist() == list(names)
    np.testing.assert_array_equal(dropped.target, full_target[in_fold9][labelled])
    np.testing.assert_array_equal(dropped.ecg_id, fold9_default.ecg_id[labelled])
    assert dropped.data.shape == (labelled.sum(), 1000, 12)
    assert isinstance(dropped.data, np.memmap)
    some = np.flatnonzero(labelled)[::50]
    np.testing.assert_array_equal(dropped.data[::50], fold9_default.data[some])


@requires_shared_ptbxl
def test_tasks_share_the_signal_cache(fold9_home, tmp_path, monkeypatch):
    """Records are parsed once, whatever the tasks and the records they keep."""
    source = fold9_home / "ptbxl"
    root = tmp_path / "ptbxl"
    root.mkdir()
    database = pd.read_csv(source / "ptbxl_database.csv", index_col="ecg_id")
    database = database[database.strat_fold == 9].head(40)
    database.to_csv(root / "ptbxl_database.csv")
    shutil.copy(source / "scp_statements.csv", root)
    for name in database.filename_lr:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        for suffix in (".hea", ".dat"):
            shutil.copy(source / f"{name}{suffix}", root / f"{name}{suffix}")
    parsed = Counter()
    read_record = ptbxl_module.read_record

    def counting_read_record(path):
        parsed[path] += 1
        return read_record(path)

    monkeypatch.setattr(ptbxl_module, "read_record", counting_read_record)

    subsets = set()
    for task in TASKS:
        for drop in (False, True):
            bunch = fetch_ptbxl(tmp_path, task=task, drop_unlabelled=drop)
            subsets.add(tuple(bunch.ecg_id))
    assert len(parsed) == 40 and set(parsed.values()) == {1}
    # One cache file per distinct set of records, never one per task.
    assert len(subsets) > 1
    assert len(list((root / ".cache").glob("*.npy"))) == len(subsets)
