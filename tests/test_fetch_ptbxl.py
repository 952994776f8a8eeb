"""fetch_ptbxl on real PTB-XL records: labels, units, cache, errors, and a windowed pipeline."""

import ast
import multiprocessing
import os
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from _helpers import SHARED_PTBXL, first_load, requires_shared_ptbxl

from cardionet_sk.datasets import fetch_ptbxl

pytestmark = requires_shared_ptbxl


@pytest.fixture(scope="session")
def fold9(fold9_home):
    return fetch_ptbxl(fold9_home, folds=[9], download_if_missing=False)


def mini_home(fold9_home, tmp_path, n_records=3):
    """A data home holding the first few fold-9 records only, safe to damage."""
    source = fold9_home / "ptbxl"
    root = tmp_path / "ptbxl"
    root.mkdir(parents=True)
    database = pd.read_csv(source / "ptbxl_database.csv", index_col="ecg_id")
    database = database[database.strat_fold == 9].head(n_records)
    database.to_csv(root / "ptbxl_database.csv")
    shutil.copy(source / "scp_statements.csv", root)
    for name in database.filename_lr:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        for suffix in (".hea", ".dat"):
            shutil.copy(source / f"{name}{suffix}", root / f"{name}{suffix}")
    return tmp_path, root, database


def test_fold9_has_its_records_and_superclass_counts(fold9):
    csv = pd.read_csv(SHARED_PTBXL / "ptbxl_database.csv", index_col="ecg_id")
    statements = pd.read_csv(SHARED_PTBXL / "scp_statements.csv", index_col=0)
    # Computed here another way: explode every record's codes and join their classes.
    codes = csv[csv.strat_fold == 9].scp_codes.map(ast.literal_eval).map(list).explode()
    classes = codes.map(statements.loc[statements.diagnostic == 1, "diagnostic_class"])
    per_record = classes.dropna().reset_index().drop_duplicates()
    expected = per_record.groupby("scp_codes").size()
    assert fold9.data.shape == (2193, 1000, 12)
    assert (fold9.fold == 9).all()
    for k, name in enumerate(fold9.target_names):
        assert fold9.target[:, k].sum() == expected[name], name


def test_signals_are_float32_millivolts_as_wfdb_reads_them(fold9, fold9_home):
    import wfdb

    assert fold9.data.dtype == np.float32
    for i in (0, 1000, 2192):
        name = fold9.frame.filename_lr.iloc[i]
        signal, fields = wfdb.rdsamp(str(fold9_home / "ptbxl" / name))
        assert fields["units"] == ["mV"] * 12
        np.testing.assert_allclose(fold9.data[i], signal, rtol=1e-6, atol=1e-6)
    assert fold9.lead_names.tolist() == fields["sig_name"]


def test_bunch_fields_and_frame(fold9):
    assert fold9.target_names.tolist() == ["NORM", "MI", "STTC", "CD", "HYP"]
    assert fold9.task == "superdiagnostic"
    assert fold9.sampling_rate == 100
    assert len(fold9.ecg_id) == len(fold9.patient_id) == len(fold9.frame) == 2193
    assert "CC BY 4.0" in fold9.DESCR and "10.13026/x4td-x982" in fold9.DESCR


def test_age_and_sex_are_those_of_the_csv(fold9, fold9_home):
    csv = pd.read_csv(SHARED_PTBXL / "ptbxl_database.csv", index_col="ecg_id")
    rows = csv.loc[fold9.ecg_id]
    assert fold9.age.dtype == np.float64 and fold9.sex.dtype == np.int64
    # assert_array_equal counts NaN (unknown ages) as equal.
    np.testing.assert_array_equal(fold9.age, rows.age)
    assert np.isnan(fold9.age).any()
    np.testing.assert_array_equal(fold9.sex, rows.sex)
    assert set(fold9.sex) == {0, 1}
    framed = fetch_ptbxl(fold9_home, folds=[9], as_frame=True)
    np.testing.assert_array_equal(framed.age, framed.frame["age"])
    np.testing.assert_array_equal(framed.sex, framed.frame["sex"])


def test_age_coded_300_is_kept_raw(fold9_home, tmp_path):
    home, root, database = mini_home(fold9_home, tmp_path)
    database.loc[database.index[1], "age"] = 300
    database.to_csv(root / "ptbxl_database.csv")
    assert fetch_ptbxl(home).age.tolist() == [database.age.iloc[0], 300, database.age.iloc[2]]


def test_return_X_y_as_frame_and_drop_unlabelled(fold9_home, fold9):
    X, y = fetch_ptbxl(fold9_home, folds=[9], return_X_y=True, as_frame=True)
    assert y.columns.tolist() == ["NORM", "MI", "STTC", "CD", "HYP"]
    assert y.index.name == "ecg_id"
    labelled = fetch_ptbxl(fold9_home, folds=[9], drop_unlabelled=True)
    assert len(labelled.data) == int(fold9.target.any(axis=1).sum()) < 2193
    assert labelled.target.any(axis=1).all()


def test_second_load_reads_the_memory_mapped_cache(fold9_home, fold9):
    again = fetch_ptbxl(fold9_home, folds=[9])
    assert isinstance(again.data, np.memmap)
    np.testing.assert_array_equal(again.data, fold9.data)
    assert list((fold9_home / "ptbxl" / ".cache").glob("*.npy"))


def test_cache_is_rebuilt_when_a_record_changes(fold9_home, tmp_path):
    home, root, database = mini_home(fold9_home, tmp_path)
    first = np.array(fetch_ptbxl(home).data)
    dat = root / f"{database.filename_lr.iloc[1]}.dat"
    signal = np.fromfile(dat, dtype="<i2")
    (signal + 100).astype("<i2").tofile(dat)
    second = fetch_ptbxl(home).data
    np.testing.assert_allclose(second[1] - first[1], 0.1, atol=1e-5)
    np.testing.assert_array_equal(second[0], first[0])
    assert len(list((root / ".cache").glob("*.npy"))) == 2


def test_concurrent_first_loads_all_return_the_records(fold9_home, tmp_path):
    # As parallel GridSearchCV jobs or Dask workers do: every process finds no cache,
    # parses the records and publishes the same cache file.
    home, root, _ = mini_home(fold9_home, tmp_path / "shared", n_records=150)
    single, _, _ = mini_home(fold9_home, tmp_path / "single", n_records=150)
    expected = fetch_ptbxl(single).data
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    outs = [tmp_path / f"out{i}.npy" for i in range(4)]
    # The target lives in a light module: a spawned process imports it, not TensorFlow.
    processes = [context.Process(target=first_load, args=(home, barrier, out)) for out in outs]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    assert [process.exitcode for process in processes] == [0] * 4
    for out in outs:
        np.testing.assert_array_equal(np.load(out), expected)
    assert [p.suffix for p in (root / ".cache").iterdir()] == [".npy"]


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda cache, data: os.truncate(cache, cache.stat().st_size // 2), "bytes where its"),
        (lambda cache, data: cache.write_bytes(b"not an array" * 100), "not a readable .npy"),
        (lambda cache, data: np.save(cache, data[:-1]), r"shape \(2, 1000, 12\)"),
        (lambda cache, data: np.save(cache, data.astype(np.float64)), "dtype float64"),
    ],
    ids=["truncated", "garbage", "wrong-shape", "wrong-dtype"],
)
def test_damaged_cache_is_rebuilt_with_a_note(fold9_home, tmp_path, capsys, damage, problem):
    home, root, _ = mini_home(fold9_home, tmp_path)
    expected = np.array(fetch_ptbxl(home).data)
    (cache,) = (root / ".cache").iterdir()
    damage(cache, expected)
    capsys.readouterr()
    np.testing.assert_array_equal(fetch_ptbxl(home).data, expected)
    note = capsys.readouterr().err
    assert note.count("\n") == 1
    assert f"cache file {cache} is damaged" in note
    assert re.search(problem, note)
    # Rebuilt in place of the damaged file: the next load reads it without a note.
    np.testing.assert_array_equal(fetch_ptbxl(home).data, expected)
    assert capsys.readouterr().err == ""
    assert list((root / ".cache").iterdir()) == [cache]


# -- bad input ----------------------------------------------------------------------------


def test_missing_folder_without_download_says_what_to_get(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="PTB-XL not found in .*ptbxl. Download the release"
    ):
        fetch_ptbxl(tmp_path, download_if_missing=False)


@pytest.mark.parametrize(
    "folds, message",
    [
        ([0], r"folds are 1 to 10; got \[0\]"),
        ([11, 9], r"got \[11\]"),
        ([10], r"no record of fold\(s\) \[10\]"),
    ],
)
def test_unknown_or_absent_fold_is_rejected(fold9_home, folds, message):
    with pytest.raises(ValueError, match=message):
        fetch_ptbxl(fold9_home, folds=folds)


def test_sampling_rate_other_than_100_or_500_is_rejected(fold9_home):
    with pytest.raises(ValueError, match="sampling_rate must be 100 or 500 .*got 250"):
        fetch_ptbxl(fold9_home, sampling_rate=250)


def test_missing_record_names_the_file(fold9_home, tmp_path):
    home, root, database = mini_home(fold9_home, tmp_path)
    missing = root / f"{database.filename_lr.iloc[2]}.dat"
    os.remove(missing)
    with pytest.raises(FileNotFoundError, match=str(missing)):
        fetch_ptbxl(home)


def test_truncated_record_names_the_file(fold9_home, tmp_path):
    home, root, database = mini_home(fold9_home, tmp_path)
    dat = root / f"{database.filename_lr.iloc[0]}.dat"
    dat.write_bytes(dat.read_bytes()[:5000])
    with pytest.raises(ValueError, match=database.filename_lr.iloc[0].split("/")[-1]):
        fetch_ptbxl(home)


def test_header_with_a_wrong_lead_count_names_the_file(fold9_home, tmp_path):
    home, root, database = mini_home(fold9_home, tmp_path)
    header = root / f"{database.filename_lr.iloc[0]}.hea"
    lines = header.read_text().splitlines()
    header.write_text("\n".join([lines[0].replace(" 12 ", " 13 ", 1), *lines[1:]]) + "\n")
    with pytest.raises(ValueError, match=header.name):
        fetch_ptbxl(home)


# -- a windowed pipeline on real records --------------------------------------------------


def test_windowed_pipeline_fits_a_few_hundred_real_records(fold9):
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import Pipeline

    from cardionet_sk import CardioNetClassifier, PTBXLWindower

    X, y = np.asarray(fold9.data[:300]), fold9.target[:300]
    pipe = Pipeline(
        [
            ("window", PTBXLWindower(250, 125)),
            (
                "clf",
                CardioNetClassifier(
                    model__filters=(8, 16),
                    model__kernel_sizes=(7, 5),
                    model__dense_units=16,
                    epochs=2,
                    random_state=0,
                ),
            ),
        ]
    ).fit(X, y)
    proba = pipe.predict_proba(np.asarray(fold9.data[300:500]))
    assert proba.shape == (200, 5)
    assert roc_auc_score(fold9.target[300:500], proba, average="macro") > 0.5
