"""read_record on real PTB-XL and PhysioNet/CinC Challenge records, damaged copies of one,
and small synthetic records with unusual or malformed headers and signal files."""

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.io
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


# -- PhysioNet/CinC Challenge records: MATLAB signal files ---------------------------------

CINC = Path(__file__).parent / "data" / "cinc2021"
CINC_RECORDS = ["HR06000", "HR06004", "E07500", "JS20000"]


def write_mat_record(
    folder,
    digital,
    *,
    name="rec",
    record_line=None,
    units="mV",
    gain="1000.0",
    leads=("I", "II", "aVR"),
    comments=("Dx: 426783006",),
    mat_format="4",
    val=None,
):
    """A Challenge-style record: a hand-written header and ``val`` in a MATLAB file.

    ``digital`` has shape (n_samples, n_leads); ``val`` replaces what the file holds.
    """
    n_samples, n_leads = digital.shape
    lines = [record_line or f"{name} {n_leads} 500 {n_samples}"]
    for lead, first in zip(leads, digital[0] if n_samples else [0] * n_leads):
        lines.append(f"{name}.mat 16x1+24 {gain}(0)/{units} 16 0 {first} 0 0 {lead}")
    lines += [f"# {comment}" for comment in comments]
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n", encoding="utf-8")
    contents = {"val": digital.T.astype(np.int16) if val is None else val}
    scipy.io.savemat(folder / f"{name}.mat", contents, format=mat_format)
    return folder / name


@pytest.fixture
def digital():
    return np.random.default_rng(0).integers(-2000, 2000, size=(50, 3)).astype(np.int16)


@pytest.mark.parametrize("name", CINC_RECORDS)
def test_read_record_reads_challenge_records(name):
    record = read_record(CINC / name)
    header = wfdb.rdheader(str(CINC / name))
    val = scipy.io.loadmat(CINC / f"{name}.mat")["val"]  # (n_leads, n_samples), int16
    expected = (val.T - np.asarray(header.baseline)) / np.asarray(header.adc_gain)
    assert record.signal.dtype == np.float32 and record.signal.shape == (5000, 12)
    assert_array_equal(record.signal, expected.astype(np.float32))
    # wfdb reads the MATLAB v4 file as a binary file with a 24-byte prefix: the same numbers.
    assert_array_equal(record.signal, wfdb.rdrecord(str(CINC / name)).p_signal.astype(np.float32))
    assert record.sampling_rate == 500
    assert record.lead_names.tolist() == header.sig_name
    assert record.lead_names.tolist()[3:6] == ["aVR", "aVL", "aVF"]  # as written
    assert record.comments == header.comments
    assert any(line.startswith("Dx: ") for line in record.comments)


def test_read_record_lower_case_millivolts():
    assert "/mv " in (CINC / "HR06000.hea").read_text()
    assert read_record(CINC / "HR06000").signal[0, 0] == pytest.approx(0.01)


@pytest.mark.parametrize("spelling", ["HR06000", "HR06000.hea", "HR06000.mat"])
def test_read_record_accepts_the_header_or_the_signal_file(spelling):
    assert_array_equal(read_record(CINC / spelling).signal, read_record(CINC / "HR06000").signal)


@pytest.mark.parametrize("record_line", ["rec.mat 3 500 50", "rec.MAT 3 500 50", "REC 3 500 50"])
def test_read_record_record_line_may_name_the_file(tmp_path, digital, record_line):
    record = write_mat_record(tmp_path, digital, record_line=record_line)
    assert_allclose(read_record(record).signal, digital / 1000.0)


@pytest.mark.parametrize(
    ("units", "encoding", "millivolts_per_unit"),
    [
        ("mV", "utf-8", 1.0),
        ("mv", "utf-8", 1.0),
        ("uV", "utf-8", 1e-3),
        ("µV", "utf-8", 1e-3),
        ("µV", "latin-1", 1e-3),  # µ as the single byte 0xB5
        ("μV", "utf-8", 1e-3),  # Greek mu
        ("V", "utf-8", 1e3),
        ("nV", "utf-8", 1e-6),
    ],
)
def test_read_record_converts_units(tmp_path, digital, units, encoding, millivolts_per_unit):
    record = write_mat_record(tmp_path, digital, units=units)
    header = record.with_suffix(".hea")
    header.write_bytes(header.read_text(encoding="utf-8").encode(encoding))
    expected = digital / 1000.0 * millivolts_per_unit
    assert_allclose(read_record(record).signal, expected, rtol=1e-6)


@pytest.mark.parametrize(("gain", "adc_per_mv"), [("4.88", 4.88), ("2e2", 200.0), ("0", 200.0)])
def test_read_record_unusual_gains(tmp_path, digital, gain, adc_per_mv):
    # A gain of 0 is WFDB's default gain, 200 ADC units per unit.
    record = write_mat_record(tmp_path, digital, gain=gain)
    assert_allclose(read_record(record).signal, digital / adc_per_mv, rtol=1e-6)


@pytest.mark.parametrize("mat_format", ["4", "5"])
def test_read_record_any_matlab_version(tmp_path, digital, mat_format):
    record = write_mat_record(tmp_path, digital, mat_format=mat_format)
    assert_allclose(read_record(record).signal, digital / 1000.0)


def test_read_record_non_integer_sampling_rate_and_no_sample_count(tmp_path, digital):
    record = write_mat_record(tmp_path, digital, record_line="rec 3 257.5")
    result = read_record(record)
    assert result.sampling_rate == 257.5 and len(result.signal) == 50


@pytest.mark.parametrize("rate", ["0", "0.0", "-500", "1e3", "fast", "9" * 400])
def test_read_record_rejects_sampling_rates(tmp_path, digital, rate):
    record = write_mat_record(tmp_path, digital, record_line=f"rec 3 {rate} 50")
    with pytest.raises(
        ValueError,
        match=rf"Malformed WFDB header .*rec\.hea: its record line gives the sampling frequency "
        rf"'{re.escape(rate)}'; it must be a positive number",
    ):
        read_record(record)


@pytest.mark.parametrize("n_samples", [0, 1])
def test_read_record_rejects_records_of_fewer_than_two_samples(tmp_path, n_samples):
    record = write_mat_record(tmp_path, np.zeros((n_samples, 3), dtype=np.int16))
    with pytest.raises(
        ValueError, match=rf"rec has {n_samples} sample\(s\) per signal .*at least 2 are needed"
    ):
        read_record(record)


def test_read_record_rejects_a_one_sample_file_without_declared_count(tmp_path):
    record = write_mat_record(tmp_path, np.ones((1, 3), dtype=np.int16), record_line="rec 3 500")
    with pytest.raises(ValueError, match=r"rec has 1 sample\(s\) per signal"):
        read_record(record)


@pytest.mark.parametrize("declared", [40, 60])
def test_read_record_sample_count_disagrees_with_matlab_file(tmp_path, digital, declared):
    record = write_mat_record(tmp_path, digital, record_line=f"rec 3 500 {declared}")
    with pytest.raises(
        ValueError,
        match=rf"rec\.hea declares {declared} samples per signal, but its signal file "
        r".*rec\.mat holds 50",
    ):
        read_record(record)


def test_read_record_missing_matlab_file(tmp_path, digital):
    record = write_mat_record(tmp_path, digital)
    record.with_suffix(".mat").unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(str(record.with_suffix(".mat")))):
        read_record(record)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: data[:10],
        lambda data: b"",
        lambda data: b"not a MATLAB file " * 20,
        lambda data: bytes(len(data)),
    ],
    ids=["half", "10-bytes", "empty", "text", "zeros"],
)
def test_read_record_corrupt_matlab_file(tmp_path, digital, damage):
    record = write_mat_record(tmp_path, digital)
    mat = record.with_suffix(".mat")
    mat.write_bytes(damage(mat.read_bytes()))
    with pytest.raises(
        ValueError,
        match=rf"Could not read the MATLAB signal file {re.escape(str(mat))} \(\d+ bytes\) of "
        r"WFDB header .*rec\.hea: it is truncated or corrupt",
    ):
        read_record(record)


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        ({"signals": np.zeros((3, 50), np.int16)}, r"holds no variable 'val'.*it holds: signals"),
        ({"val": np.zeros((50, 3), np.int16)}, r"shape \(50, 3\).*expected .*shape \(3, n_samp"),
        ({"val": np.zeros((2, 50), np.int16)}, r"describes 3 signals in it"),
        ({"val": np.full((3, 50), 0.5)}, r"'val' holds fractional numbers"),
    ],
    ids=["no-val", "transposed", "too-few-rows", "fractional"],
)
def test_read_record_matlab_file_of_another_layout(tmp_path, digital, contents, message):
    record = write_mat_record(tmp_path, digital)
    scipy.io.savemat(record.with_suffix(".mat"), contents)
    with pytest.raises(ValueError, match=message):
        read_record(record)


def test_read_record_whole_numbers_stored_as_floats(tmp_path, digital):
    record = write_mat_record(tmp_path, digital, val=digital.T.astype(np.float64))
    assert_allclose(read_record(record).signal, digital / 1000.0)


def test_read_record_all_missing_lead(tmp_path, digital):
    digital[:, 2] = -32768  # WFDB's "no sample" in format 16
    record = write_mat_record(tmp_path, digital)
    with pytest.raises(
        ValueError, match=r"rec: lead aVR holds no sample, all 50 are missing \(NaN\)"
    ):
        read_record(record)


def test_read_record_signals_in_several_matlab_files(tmp_path, digital):
    (tmp_path / "rec.hea").write_text(
        "rec 3 500\n"
        "a.mat 16+24 1000/mV 16 0 0 0 0 I\n"
        "b.mat 16+24 1000/mV 16 0 0 0 0 II\n"
        "a.mat 16+24 1000/mV 16 0 0 0 0 aVR\n"
    )
    scipy.io.savemat(tmp_path / "a.mat", {"val": digital[:, [0, 2]].T}, format="4")
    scipy.io.savemat(tmp_path / "b.mat", {"val": digital[:, [1]].T}, format="4")
    result = read_record(tmp_path / "rec")
    assert_allclose(result.signal, digital / 1000.0)
    assert result.lead_names.tolist() == ["I", "II", "aVR"]
    scipy.io.savemat(tmp_path / "b.mat", {"val": digital[:40, [1]].T}, format="4")
    with pytest.raises(ValueError, match=r"different numbers of samples: a.mat 50, b.mat 40"):
        read_record(tmp_path / "rec")


def test_read_record_several_samples_per_frame_in_matlab_file(tmp_path, digital):
    record = write_mat_record(tmp_path, digital)
    edit_header(record, "16x1+24", "16x2+24")
    with pytest.raises(ValueError, match=r"several samples per frame in the MATLAB file"):
        read_record(record)


# -- WFDB binary records: more malformed headers and files -----------------------------------


def write_dat_record(folder, n_samples=100, name="rec"):
    signal = np.random.default_rng(1).normal(size=(n_samples, 2))
    wfdb.wrsamp(
        name,
        fs=100,
        units=["mV", "mV"],
        sig_name=["I", "aVR"],
        p_signal=signal,
        fmt=["16", "16"],
        adc_gain=[1000.0, 1000.0],
        baseline=[0, 0],
        write_dir=folder,
        comments=["Dx: 59118001"],
    )
    return folder / name, signal


def test_read_record_binary_record_comments_and_signal_file_name(tmp_path):
    record, signal = write_dat_record(tmp_path)
    result = read_record(tmp_path / "rec.dat")
    assert result.comments == ["Dx: 59118001"]
    assert result.lead_names.tolist() == ["I", "aVR"]
    assert_allclose(result.signal, signal, atol=1e-3)


def test_read_record_binary_file_longer_than_declared(tmp_path):
    record, _ = write_dat_record(tmp_path)
    edit_header(record, "rec 2 100 100", "rec 2 100 80")
    with pytest.raises(
        ValueError,
        match=r"rec\.hea declares 80 samples per signal, but its signal file .*rec\.dat "
        r"\(400 bytes\) holds 100",
    ):
        read_record(record)


def test_read_record_binary_record_line_with_extension(tmp_path):
    record, _ = write_dat_record(tmp_path)
    edit_header(record, "rec 2 100 100", "rec.dat 2 100 100")
    with pytest.raises(ValueError, match=r"rec\.hea: its record line names the record with a file"):
        read_record(record)


@pytest.mark.parametrize("n_samples", [0, 1])
def test_read_record_binary_record_too_short(tmp_path, n_samples):
    record, _ = write_dat_record(tmp_path)
    edit_header(record, "rec 2 100 100", f"rec 2 100 {n_samples}")
    with pytest.raises(ValueError, match=rf"rec has {n_samples} sample\(s\) per signal"):
        read_record(record)


def test_read_record_binary_all_missing_lead(tmp_path):
    record, _ = write_dat_record(tmp_path)
    digital = np.fromfile(record.with_suffix(".dat"), dtype="<i2").reshape(100, 2)
    digital[:, 0] = -32768
    digital.tofile(record.with_suffix(".dat"))
    with pytest.raises(ValueError, match=r"rec: lead I holds no sample, all 100 are missing"):
        read_record(record)


def test_read_record_multi_segment(tmp_path):
    _, first = write_dat_record(tmp_path, name="s1")
    _, second = write_dat_record(tmp_path, name="s2")
    (tmp_path / "multi.hea").write_text("multi/2 2 100 200\ns1 100\ns2 100\n# Dx: 1\n")
    result = read_record(tmp_path / "multi")
    assert_allclose(result.signal, np.concatenate([first, second]), atol=1e-3)
    assert result.sampling_rate == 100 and result.comments == ["Dx: 1"]


@pytest.mark.parametrize(
    "header",
    ["", "# Dx: 1\n", "rec\n", "rec two 100 100\n", "rec 1 100 100\nrec.dat\n"],
    ids=["empty", "comments-only", "no-signal-count", "bad-signal-count", "bad-signal-line"],
)
def test_read_record_malformed_headers(tmp_path, header):
    (tmp_path / "rec.hea").write_text(header)
    with pytest.raises(ValueError, match=r"Malformed WFDB header .*rec\.hea"):
        read_record(tmp_path / "rec")


def test_read_record_header_without_signals(tmp_path):
    (tmp_path / "rec.hea").write_text("rec 0 100\n")
    with pytest.raises(ValueError, match=r"WFDB record .*rec holds no signal"):
        read_record(tmp_path / "rec")


def test_read_record_damaged_files_raise_only_value_or_os_errors(tmp_path, digital):
    """Random edits of a header and of its MATLAB file: read, or a ValueError/OSError."""
    rng = np.random.default_rng(0)
    record = write_mat_record(tmp_path, digital)
    header, mat = record.with_suffix(".hea"), record.with_suffix(".mat")
    good_header, good_mat = header.read_bytes(), mat.read_bytes()
    alphabet = np.frombuffer(b" 0123456789.-+/()x:e#\nmuvV\xb5", dtype=np.uint8)
    for trial in range(300):
        damaged = bytearray(good_header if trial % 2 else good_mat[:60])
        for _ in range(rng.integers(1, 6)):
            at = int(rng.integers(len(damaged)))
            if rng.random() < 0.4:
                del damaged[at]
            else:
                damaged[at:at] = bytes([rng.choice(alphabet)])
        header.write_bytes(bytes(damaged) if trial % 2 else good_header)
        mat.write_bytes(good_mat if trial % 2 else bytes(damaged) + good_mat[60:])
        try:
            result = read_record(record)
        except (ValueError, OSError):
            continue
        assert len(result.signal) >= 2 and np.isfinite(result.signal).all()
        assert result.sampling_rate > 0
