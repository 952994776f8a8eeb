"""A model adapts records to itself: any sampling rate, any length from its minimum, any lead
naming; in Python and through ``cardionet predict``."""

import json
from pathlib import Path

import numpy as np
import pytest
import wfdb
from scipy.signal import butter, resample_poly, sosfiltfilt

from cardionet_sk import (
    LEADS,
    CardioNetClassifier,
    SignalQualityWarning,
    list_pretrained,
    load_pretrained,
)
from cardionet_sk._cli import main
from cardionet_sk._input_contract import canonical_lead, resample, resampling_factors
from cardionet_sk.datasets import load_sample, read_record
from cardionet_sk.hub import DEFAULT_MODEL

NAMES = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture(scope="module")
def default_model():
    return CardioNetClassifier.from_pretrained()


@pytest.mark.parametrize(
    ("name", "lead", "polarity"),
    [
        ("aVR", "AVR", 1),
        ("avr", "AVR", 1),
        ("-aVR", "AVR", -1),
        ("DII", "II", 1),
        ("diii", "III", 1),
        (" V1 ", "V1", 1),
        ("Lead III", "III", 1),
        ("v6", "V6", 1),
    ],
)
def test_lead_names_are_matched_without_case_and_with_the_usual_aliases(name, lead, polarity):
    assert canonical_lead(name) == (lead, polarity)


def test_leads_in_another_order_with_extra_leads_and_aliases_give_the_same_probabilities(
    sample, default_model
):
    X = sample.data[:4]
    order = [5, 3, 11, 0, 2, 1, 4, 6, 7, 8, 9, 10]
    names = ["aVF", "AVR", "V6", "DI", "DIII", "DII", "avl", "V1", "V2", "V3", "V4", "V5"]
    shuffled = np.concatenate([X[..., order], X[..., :1]], axis=-1)  # and one extra lead
    np.testing.assert_allclose(
        default_model.predict_proba(shuffled, lead_names=[*names, "pacing"]),
        default_model.predict_proba(X),
        rtol=1e-6,
    )


def test_an_inverted_avr_lead_is_negated_back(sample, default_model):
    X = sample.data[:2].copy()
    X[..., 3] *= -1
    np.testing.assert_allclose(
        default_model.predict_proba(X, lead_names=[*NAMES[:3], "-aVR", *NAMES[4:]]),
        default_model.predict_proba(sample.data[:2]),
        rtol=1e-6,
    )


def test_a_missing_lead_is_named(sample, default_model):
    with pytest.raises(ValueError, match="lacks the lead.s. V4 of the model"):
        default_model.predict_proba(
            np.delete(sample.data[:2], 9, axis=-1), lead_names=NAMES[:9] + NAMES[10:]
        )


def test_lead_names_must_name_each_column_once(sample, default_model):
    with pytest.raises(ValueError, match="lead_names has 11 names, but X has 12 leads"):
        default_model.predict_proba(sample.data[:2], lead_names=NAMES[:11])
    with pytest.raises(ValueError, match="names the lead II twice"):
        default_model.predict_proba(sample.data[:2], lead_names=["I", "II", "DII", *NAMES[3:]])


def test_a_rate_such_as_257_hz_is_resampled_by_its_exact_ratio():
    assert resampling_factors(257, 100) == (100, 257)
    assert resampling_factors(360, 100) == (5, 18)
    assert resample(np.zeros((1, 2570, 12), dtype=np.float32), 257, 100).shape == (1, 1000, 12)


@pytest.mark.parametrize("rate", [0, -500, float("nan"), "fast"])
def test_a_sampling_rate_that_is_no_positive_number_is_rejected(sample, default_model, rate):
    with pytest.raises(ValueError, match="sampling_rate must be a"):
        default_model.predict_proba(sample.data[:1], sampling_rate=rate)


@pytest.mark.parametrize("rate", [250, 257, 360, 500, 1000])
def test_records_at_other_rates_get_the_probabilities_of_their_100_hz_version(
    sample, default_model, rate
):
    # PTB-XL's 100 Hz records hold nothing above 50 Hz: upsampled, they are the same signal.
    X = sample.data[:6].astype(np.float64)
    up, down = resampling_factors(100, rate)
    higher = resample_poly(X, up, down, axis=1)
    np.testing.assert_allclose(
        default_model.predict_proba(higher, sampling_rate=rate),
        default_model.predict_proba(sample.data[:6]),
        atol=0.02,
    )


def test_a_ptbxl_record_given_at_500_hz_gets_the_probabilities_of_its_100_hz_version(
    default_model,
):
    # PTB-XL's record 6000 at 500 Hz, as the PhysioNet/CinC Challenge 2021 ships it (shipped
    # with its licence). Its official 100 Hz copy is in fold 10, which ../shared does not
    # hold, so its 100 Hz version is made here without the package's resample_poly: a
    # zero-phase low-pass (Butterworth, 45 Hz, about where the filter of PTB-XL's own copies
    # is at half gain), then every fifth sample. benchmarks/resampling.py compares records
    # of folds 1-9 with their official copies.
    record = read_record(Path(__file__).parent / "data" / "cinc2021" / "HR06000")
    assert record.sampling_rate == 500
    low_pass = butter(8, 45, fs=500, output="sos")
    version_100_hz = sosfiltfilt(low_pass, record.signal.astype(np.float64), axis=0)[::5]
    np.testing.assert_allclose(
        default_model.predict_proba(
            record.signal[None], sampling_rate=500, lead_names=record.lead_names
        ),
        default_model.predict_proba(
            version_100_hz[None], sampling_rate=100, lead_names=record.lead_names
        ),
        atol=0.02,
    )


def test_a_record_whose_stated_rate_disagrees_with_its_content_still_warns(sample, default_model):
    # 100 Hz records said to be at 25 Hz: 40 s long, with a heart rate a quarter of theirs.
    with pytest.warns(SignalQualityWarning, match="apparent heart rate .* at 25 Hz"):
        default_model.predict_proba(sample.data[:2], sampling_rate=25)


@pytest.mark.parametrize(
    ("name", "seconds"),
    [
        ("cardionet-ptbxl", 10),
        ("xresnet1d50-ptbxl-ema", 2.5),
        ("resnet1d-wang-ptbxl-5s-ema", 5),
        ("ensemble-ptbxl", 10),
    ],
)
def test_each_model_states_its_minimum_and_rejects_shorter_records_naming_it(sample, name, seconds):
    model = load_pretrained(name)
    assert model.min_duration_ == seconds
    short = sample.data[:1, : int(seconds * 100) - 1]
    with pytest.raises(ValueError, match=f"shorter than the {seconds:g} s"):
        model.predict_proba(short)


def test_an_ensemble_passes_the_rate_to_each_member_which_adapts_the_record_to_itself(sample):
    ensemble = load_pretrained("ensemble-ptbxl")
    X = np.concatenate([sample.data[:3], sample.data[3:6, :500]], axis=1)  # 15 s at 100 Hz
    at_500 = resample_poly(X.astype(np.float64), 5, 1, axis=1)
    np.testing.assert_allclose(
        ensemble.predict_proba(at_500, sampling_rate=500, lead_names=NAMES),
        ensemble.predict_proba(X),
        atol=0.02,
    )


# -- the command line on a folder of mixed rates and lengths ------------------------------------


RATES = (100, 250, 257, 500)
SECONDS = (3, 10, 60)


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory, sample):
    """Records of 3, 10 and 60 s, each at 100, 250, 257 and 500 Hz: real PTB-XL signal
    (band-limited below 50 Hz) joined end to end, then upsampled."""
    folder = tmp_path_factory.mktemp("mixed")
    signal = np.concatenate(list(sample.data[:6]), axis=0).astype(np.float64)  # 60 s at 100 Hz
    for seconds in SECONDS:
        at_100 = signal[: seconds * 100]
        for rate in RATES:
            up, down = resampling_factors(100, rate)
            record = resample_poly(at_100, up, down, axis=0) if rate != 100 else at_100
            wfdb.wrsamp(
                f"r{seconds:02d}s_{rate}hz",
                fs=rate,
                units=["mV"] * 12,
                sig_name=NAMES,
                p_signal=record,
                fmt=["16"] * 12,
                write_dir=str(folder),
            )
    return folder


def _scored(folder, model, capsys):
    main(["predict", str(folder), "--model", model, "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    return {row["record"].rsplit("/", 1)[-1].removesuffix(".hea"): row for row in rows}


def _check_rates_agree(rows, minimum):
    for seconds in SECONDS:
        names = [f"r{seconds:02d}s_{rate}hz" for rate in RATES]
        if seconds < minimum:
            for name in names:
                assert f"shorter than the {minimum:g} s the model needs" in rows[name]["error"]
            continue
        assert all(rows[name].get("error") is None for name in names), rows
        at_100 = np.array(list(rows[names[0]]["probabilities"].values()))
        for name in names[1:]:
            at_rate = np.array(list(rows[name]["probabilities"].values()))
            np.testing.assert_allclose(at_rate, at_100, atol=0.02, err_msg=name)


def test_the_default_model_scores_every_record_of_a_mixed_folder_alike_at_every_rate(
    mixed_folder, capsys
):
    rows = _scored(mixed_folder, DEFAULT_MODEL, capsys)
    assert len(rows) == len(RATES) * len(SECONDS)
    _check_rates_agree(rows, minimum=2.5)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [m["name"] for m in list_pretrained(details=True) if m["task"] == "superdiagnostic"],
)
def test_every_embedded_model_scores_each_record_at_least_its_minimum(mixed_folder, capsys, name):
    rows = _scored(mixed_folder, name, capsys)
    _check_rates_agree(rows, minimum=load_pretrained(name).min_duration_)


def test_every_standard_lead_is_known():
    assert [canonical_lead(name)[0] for name in NAMES] == list(LEADS)
