import ast
import os

import numpy as np
import pandas as pd
import pytest
import wfdb
from numpy.testing import assert_array_equal

from cardionet_sk import LEADS, SUPERCLASSES
from cardionet_sk.datasets import clear_data_home, get_data_home, load_sample
from cardionet_sk.datasets._base import _package_file
from cardionet_sk.datasets._cache import load_or_build

BUNCH_KEYS = {
    "data",
    "target",
    "target_names",
    "lead_names",
    "sampling_rate",
    "fold",
    "ecg_id",
    "patient_id",
    "age",
    "sex",
    "frame",
    "DESCR",
}
CITATION = "PTB-XL, Wagner et al. 2020, PhysioNet, https://doi.org/10.13026/x4td-x982, CC BY 4.0"


def labels_frame(database, statements):
    """0/1 superclass frame indexed by ecg_id, computed with pandas."""
    codes = database["scp_codes"].map(ast.literal_eval).map(list).explode()
    diagnostic = statements.loc[statements["diagnostic"] == 1, "diagnostic_class"]
    labels = pd.crosstab(codes.index, codes.map(diagnostic)).clip(upper=1)
    return labels.reindex(index=database.index, columns=list(SUPERCLASSES), fill_value=0)


def test_load_sample_bunch():
    sample = load_sample()
    assert set(sample) == BUNCH_KEYS
    n = len(sample.ecg_id)
    assert sample.data.shape == (n, 1000, 12)
    assert sample.data.dtype == np.float32
    assert sample.target.shape == (n, 5)
    assert set(np.unique(sample.target)) == {0, 1}
    assert sample.target_names.tolist() == list(SUPERCLASSES)
    assert sample.lead_names.tolist() == list(LEADS)
    assert sample.sampling_rate == 100
    assert set(sample.fold) <= set(range(1, 10))
    assert_array_equal(sample.frame.index, sample.ecg_id)
    assert_array_equal(sample.frame["patient_id"], sample.patient_id)
    assert CITATION in sample.DESCR.replace("\n", " ")
    # Millivolt scale: ECG amplitudes lie within a few mV, not thousands of ADC units.
    assert 0.5 < np.abs(sample.data).max() < 20


def test_load_sample_covers_every_superclass():
    target = load_sample().target
    assert (target.sum(axis=0) >= 10).all()
    assert (target.sum(axis=1) == 0).sum() == 2


def test_load_sample_return_X_y_as_frame():
    sample = load_sample()
    X, y = load_sample(return_X_y=True)
    assert_array_equal(X, sample.data)
    assert_array_equal(y, sample.target)
    X, y = load_sample(return_X_y=True, as_frame=True)
    assert isinstance(y, pd.DataFrame)
    assert y.columns.tolist() == list(SUPERCLASSES)
    assert_array_equal(y.index, sample.ecg_id)
    assert_array_equal(y.to_numpy(), sample.target)


def test_load_sample_is_small():
    sizes = [f.stat().st_size for f in _package_file("data").iterdir() if "sample" in f.name]
    assert 0 < sum(sizes) <= 2_000_000


def test_load_sample_matches_release(fold9_home):
    sample = load_sample()
    source = fold9_home / "ptbxl"
    database = pd.read_csv(source / "ptbxl_database.csv", index_col="ecg_id")
    statements = pd.read_csv(source / "scp_statements.csv", index_col=0)
    rows = database.loc[sample.ecg_id]
    assert_array_equal(sample.patient_id, rows["patient_id"].astype(int))
    assert_array_equal(sample.fold, rows["strat_fold"])
    assert_array_equal(sample.age, rows["age"])
    assert_array_equal(sample.sex, rows["sex"])
    assert_array_equal(sample.target, labels_frame(rows, statements).to_numpy())

    in_fold9 = np.flatnonzero(sample.fold == 9)
    assert in_fold9.size
    for i in in_fold9:
        signal, fields = wfdb.rdsamp(str(source / rows["filename_lr"].iloc[i]))
        assert fields["units"] == ["mV"] * 12
        assert_array_equal(sample.data[i], signal.astype(np.float32))


def test_get_data_home_default_env_and_argument(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.delenv("CARDIONET_SK_DATA", raising=False)
    assert get_data_home() == str(tmp_path / "user" / "cardionet_sk_data")
    monkeypatch.setenv("CARDIONET_SK_DATA", str(tmp_path / "from_env"))
    assert get_data_home() == str(tmp_path / "from_env")
    assert get_data_home("~/given") == str(tmp_path / "user" / "given")
    assert all(
        (tmp_path / d).is_dir() for d in ("user/cardionet_sk_data", "from_env", "user/given")
    )


def test_clear_data_home_deletes_everything(tmp_path):
    home = get_data_home(tmp_path / "home")
    (tmp_path / "home" / "ptbxl").mkdir()
    (tmp_path / "home" / "ptbxl" / "ptbxl_database.csv").write_text("ecg_id\n")
    clear_data_home(home)
    assert not (tmp_path / "home").exists()


def test_cache_is_built_once_and_published_without_leftovers(tmp_path):
    path = tmp_path / "cache" / "signals.npy"
    expected = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    builds = []

    def build():
        builds.append(expected)
        return expected

    for _ in range(2):
        array = load_or_build(path, build, shape=(2, 3, 4), dtype=np.float32)
        assert isinstance(array, np.memmap) and not array.flags.writeable
        assert_array_equal(array, expected)
    assert len(builds) == 1
    assert os.listdir(path.parent) == ["signals.npy"]


def test_garbage_cache_is_rebuilt_with_a_note(tmp_path, capsys):
    path = tmp_path / "signals.npy"
    path.write_bytes(b"garbage")
    array = load_or_build(path, lambda: np.ones(3, dtype=np.float32), shape=(3,), dtype=np.float32)
    assert_array_equal(array, np.ones(3))
    assert f"cache file {path} is damaged (not a readable .npy file" in capsys.readouterr().err


def test_failed_cache_write_leaves_no_file(tmp_path):
    # An object array cannot be saved without pickling: np.save fails mid-write.
    with pytest.raises(ValueError, match="pickle"):
        load_or_build(
            tmp_path / "signals.npy",
            lambda: np.array([None], dtype=object),
            shape=(1,),
            dtype=object,
        )
    assert os.listdir(tmp_path) == []
