"""read_record on real PTB-XL records and on damaged copies of one."""

import re

import numpy as np
import pytest
import wfdb
from numpy.testing import assert_allclose, assert_array_equal

from cardionet_sk import LEADS
from cardionet_sk.datasets import read_record

RECORD = "records100/00000/00008_lr"  # the first fold-9 record


def copy_record(fold9_home, tmp_path, name="rec"):
    """Copy the fold-9 record to ``tmp_path/name``, renaming it in its header."""
    source = fold9_home / "ptbxl" / RECORD
    stem = source.name
    header = source.with_suffix(".hea").read_text().replace(stem, name)
    (tmp_path / f"{name}.hea").write_text(header)
    (tmp_path / f"{name}.dat").write_bytes(source.with_suffix(".dat").read_bytes())
    return tmp_path / name


def edit_header(record, old, new, count=-1):
    header = record.with_suffix(".hea")
    text = header.read_text()
    assert old in text
    header.write_text(text.replace(old, new, count))


def test_read_record_matches_wfdb(fold9_home):
    path = fold9_home / "ptbxl" / RECORD
    signal, fields = wfdb.rdsamp(str(path))
    record = read_record(path)
    assert record.signal.dtype == np.float32
    assert_array_equal(record.signal, signal.astype(np.float32))
    assert record.sampling_rate == 100
    assert record.lead_names.tolist() == list(LEADS) == fields["sig_name"]
    assert record.units == "mV"
    assert_array_equal(read_record(f"{path}.hea").signal, record.signal)


def test_read_record_any_rate_and_lead_count(tmp_path):
    signal = np.random.default_rng(0).normal(size=(1250, 3))
    wfdb.wrsamp(
        "demo",
        fs=250,
        units=["mV"] * 3,
        sig_name=["I", "II", "V1"],
        p_signal=signal,
        fmt=["16"] * 3,
        adc_gain=[1000.0] * 3,
        baseline=[0] * 3,
        write_dir=tmp_path,
    )
    record = read_record(tmp_path / "demo")
    assert record.signal.shape == (1250, 3)
    assert record.sampling_rate == 250
    assert record.lead_names.tolist() == ["I", "II", "V1"]
    assert_allclose(record.signal, signal, atol=1e-3)


def test_read_record_converts_microvolts(fold9_home, tmp_path):
    millivolts = read_record(copy_record(fold9_home, tmp_path, "mv")).signal
    record = copy_record(fold9_home, tmp_path, "uv")
    edit_header(record, "/mV", "/uV")
    assert_allclose(read_record(record).signal, millivolts / 1000, rtol=1e-6)


def test_read_record_rejects_non_voltage_units(fold9_home, tmp_path):
    record = copy_record(fold9_home, tmp_path)
    edit_header(record, "/mV", "/mmHg")
    with pytest.raises(ValueError, match=r"rec: lead I is in units 'mmHg'.*millivolts"):
        read_record(record)


def test_read_record_missing_header(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "absent.hea"))):
        read_record(tmp_path / "absent")


def test_read_record_missing_signal_file(fold9_home, tmp_path):
    record = copy_record(fold9_home, tmp_path)
    record.with_suffix(".dat").unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(str(record.with_suffix(".dat")))):
        read_record(record)


@pytest.mark.parametrize("n_bytes", [12_000, 10_001, 0])
def test_read_record_truncated_signal_file(fold9_home, tmp_path, n_bytes):
    record = copy_record(fold9_home, tmp_path)
    dat = record.with_suffix(".dat")
    dat.write_bytes(dat.read_bytes()[:n_bytes])
    with pytest.raises(ValueError, match=rf"{re.escape(str(dat))} \({n_bytes} bytes\).*truncated"):
        read_record(record)


@pytest.mark.parametrize("declared", [11, 13])
def test_read_record_lead_count_disagrees_with_header(fold9_home, tmp_path, declared):
    record = copy_record(fold9_home, tmp_path)
    edit_header(record, "rec 12 ", f"rec {declared} ", count=1)
    with pytest.raises(
        ValueError,
        match=rf"rec.hea: its record line declares {declared} signals but it "
        "describes 12",
    ):
        read_record(record)


def test_read_record_malformed_header(tmp_path):
    (tmp_path / "rec.hea").write_text("not a WFDB header\n")
    with pytest.raises(ValueError, match=r"Malformed WFDB header .*rec\.hea"):
        read_record(tmp_path / "rec")


def test_read_record_missing_sample(fold9_home, tmp_path):
    record = copy_record(fold9_home, tmp_path)
    digital = np.fromfile(record.with_suffix(".dat"), dtype="<i2").reshape(1000, 12)
    digital[7, 1] = -32768  # WFDB's "no sample" value in format 16
    digital.tofile(record.with_suffix(".dat"))
    with pytest.raises(ValueError, match=r"rec has 1 missing samples \(NaN\).*lead II at sample 7"):
        read_record(record)
