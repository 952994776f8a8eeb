"""Signal sanity checks: each fires on real records broken its way, never on real records."""

import re
import warnings

import numpy as np
import pytest
from scipy.signal import resample_poly

from cardionet_sk import (
    CardioNetClassifier,
    SignalProblem,
    SignalQualityWarning,
    check_signal_quality,
)
from cardionet_sk.datasets import fetch_ptbxl, load_sample


@pytest.fixture(scope="module")
def sample():
    """The 52 real 100 Hz PTB-XL records bundled with the package, in mV."""
    return np.asarray(load_sample().data)


@pytest.fixture(scope="module")
def small_clf(sample):
    """A tiny classifier fitted on the sample (no checks, so the fit itself stays silent)."""
    y = load_sample().target
    return CardioNetClassifier(
        model__filters=(4,),
        model__kernel_sizes=(3,),
        model__dense_units=8,
        epochs=1,
        random_state=0,
    ).fit(sample, y)


def kinds(problems):
    return {(p.record, p.kind) for p in problems}


def test_real_sample_records_have_no_problem(sample):
    assert check_signal_quality(sample) == []
    # The same records as windows: each window is checked on its own.
    assert check_signal_quality(sample.reshape(52, 4, 250, 12)) == []


@pytest.mark.parametrize("factor", [1000, 200])
def test_microvolts_and_adc_counts(sample, factor):
    problems = check_signal_quality(sample * factor)
    assert kinds(problems) == {(i, "amplitude") for i in range(52)}
    assert problems[0] == SignalProblem(0, "amplitude", (), problems[0].message)
    assert "microvolts or raw ADC counts" in problems[0].message
    assert "divide microvolts by 1000" in problems[0].message


@pytest.mark.parametrize("value", [0.0, 0.35])
def test_flat_lead(sample, value):
    X = sample.copy()
    X[7, :, 8] = value
    X[9, :, [0, 11]] = value
    problems = check_signal_quality(X)
    assert problems == [
        SignalProblem(7, "flat", ("V3",), "lead V3 is flat (disconnected?)"),
        SignalProblem(9, "flat", ("I", "V6"), "leads I, V6 are flat (disconnected?)"),
    ]


@pytest.mark.parametrize("side", ["high", "low"])
def test_clipped_lead(sample, side):
    X = sample.copy()
    lead = X[:, :, 1]
    # A rail that cuts the top (or bottom) tenth of the samples, as a saturated amplifier does.
    if side == "high":
        rail = np.percentile(lead, 90, axis=1)
        X[:, :, 1] = np.minimum(lead, rail[:, np.newaxis])
    else:
        rail = np.percentile(lead, 10, axis=1)
        X[:, :, 1] = np.maximum(lead, rail[:, np.newaxis])
    problems = check_signal_quality(X)
    assert kinds(problems) == {(i, "clipped") for i in range(52)}
    assert problems[5].leads == ("II",)
    assert problems[5].message == f"lead II clipped at {rail[5]:.4g} mV"


def test_short_records_are_not_clipped_by_chance():
    # Five timesteps of three levels: each level is 20 % of a lead, but no plateau.
    X = np.random.default_rng(0).integers(0, 3, size=(50, 5, 2)).astype(float)
    assert "clipped" not in {p.kind for p in check_signal_quality(X)}


def test_excerpt_at_500_hz_read_as_100_hz(sample):
    # 2 s of each record at 500 Hz: 1,000 samples, the shape of 10 s at 100 Hz.
    excerpts = resample_poly(sample, 5, 1, axis=1)[:, :1000]
    problems = check_signal_quality(excerpts, sampling_rate=100)
    assert {p.kind for p in problems} == {"heart_rate"}
    # A few slow records show fewer than two beats in the excerpt: nothing to measure.
    assert len(problems) >= 45
    for problem in problems:
        rate = re.fullmatch(
            r"apparent heart rate (\d+) bpm at 100 Hz: is the sampling rate right\?",
            problem.message,
        )
        assert rate and int(rate[1]) < 25, problem.message
    # At their true rate the same excerpts are fine.
    assert check_signal_quality(excerpts, sampling_rate=500) == []


def test_records_at_100_hz_read_as_500_hz(sample):
    problems = check_signal_quality(sample, sampling_rate=500)
    assert {p.kind for p in problems} == {"heart_rate"}
    assert len(problems) >= 40
    assert all(int(p.message.split()[3]) > 250 for p in problems)


def test_windows_report_their_record_and_lead_names(sample):
    windows = sample[:6].reshape(6, 4, 250, 12).copy()
    windows[4, 2, :, 3] = 0.0
    leads = [f"L{i}" for i in range(12)]
    assert check_signal_quality(windows, leads=leads) == [
        SignalProblem(4, "flat", ("L3",), "lead L3 is flat (disconnected?)")
    ]
    # 2-D input is single-lead records.
    single = sample[:3, :, 1].copy()
    single[1] = 2.0
    assert kinds(check_signal_quality(single)) == {(1, "flat")}
    with pytest.raises(ValueError, match="leads has 2 names"):
        check_signal_quality(sample, leads=["I", "II"])
    with pytest.raises(ValueError, match="sampling_rate must be positive"):
        check_signal_quality(sample, sampling_rate=0)


def test_classifier_warns_once_per_call_naming_records(sample, small_clf):
    with pytest.warns(SignalQualityWarning) as record:
        small_clf.predict(sample * 1000)
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith("52 of 52 records do not look like millivolt ECGs at 100 Hz: ")
    assert "record 0: amplitudes look like microvolts" in message
    assert "record 4:" in message and "record 5:" not in message
    assert "; and 47 more." in message
    assert record[0].filename == __file__


def test_classifier_is_silent_on_real_records_and_when_told(sample, small_clf):
    X = sample.copy()
    X[0, :, 8] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        small_clf.predict_proba(sample)
        small_clf.set_params(signal_checks=False).predict_proba(X)
    small_clf.set_params(signal_checks=True)


def test_warning_escalates_to_an_error(sample, small_clf):
    X = sample[:3].copy()
    X[1, :, 8] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", SignalQualityWarning)
        with pytest.raises(SignalQualityWarning, match=r"record 1: lead V3 is flat"):
            small_clf.predict_proba(X)
    with pytest.raises(ValueError, match=r"record 1: lead V3 is flat"):
        CardioNetClassifier(signal_checks="error").fit(X, np.eye(3, 2, dtype=int))


def test_fit_warns_at_the_classifier_rate(sample):
    y = load_sample().target
    clf = CardioNetClassifier(
        model__filters=(4,),
        model__kernel_sizes=(3,),
        model__dense_units=8,
        epochs=1,
        random_state=0,
    )
    with pytest.warns(SignalQualityWarning, match="apparent heart rate") as record:
        clf.set_params(sampling_rate=500).fit(sample, y)
    assert " at 500 Hz" in str(record[0].message)


def test_sampling_rate_is_saved_and_loaded(small_clf, tmp_path):
    clf = CardioNetClassifier.from_pretrained("cardionet-ptbxl")
    assert clf.sampling_rate == clf.pretrained_config_.input.sampling_rate == 100
    small_clf.set_params(sampling_rate=250).save_pretrained(tmp_path)
    small_clf.set_params(sampling_rate=100)
    loaded = CardioNetClassifier.from_pretrained(tmp_path)
    assert loaded.sampling_rate == loaded.pretrained_config_.input.sampling_rate == 250


@pytest.mark.shared_data
def test_no_false_alarm_on_fold9(fold9_home):
    fold9 = fetch_ptbxl(fold9_home, folds=[9], download_if_missing=False)
    X = np.asarray(fold9.data)
    assert X.shape == (2193, 1000, 12)
    assert check_signal_quality(X, fold9.sampling_rate) == []
