"""The model card: its use and limitation sections, and subgroup performance when measured.

Configs are built by hand: rendering a card needs no network, weights or TensorFlow.
"""

from dataclasses import replace

import pytest
from huggingface_hub import ModelCard

from cardionet_sk import LEADS, list_pretrained
from cardionet_sk.hub import (
    EMBEDDED_DIR,
    MODEL_CARD_NAME,
    InputSpec,
    ModelConfig,
    folder_config,
    model_card,
)

CLASSES = ("NORM", "MI", "STTC", "CD", "HYP")


def class_row(auc, sensitivity, specificity):
    """A subgroup's scores of one class, each with an interval 0.02 either side."""
    row = {}
    for name, value in (("auc", auc), ("sensitivity", sensitivity), ("specificity", specificity)):
        row[name] = value
        row[f"{name}_95ci"] = None if value is None else [value - 0.02, value + 0.02]
    return row


def group(n, macro_auc, hyp=(0.88, 0.61, 0.93)):
    """A subgroup whose classes score alike, but for HYP, which scores ``hyp``; no macro
    or mean values for a ``macro_auc`` of ``None`` (a class too small to measure)."""
    means = {"macro_auc": macro_auc, "mean_sensitivity": 0.79, "mean_specificity": 0.87}
    if macro_auc is None:
        means = dict.fromkeys(means)
    return {
        "n": n,
        "positives": {c: n // 4 for c in CLASSES},
        **means,
        **{f"{k}_95ci": None if v is None else [v - 0.011, v + 0.012] for k, v in means.items()},
        "per_class": {
            **{c: class_row(0.92, 0.81, 0.88) for c in CLASSES[:-1]},
            "HYP": class_row(*hyp),
        },
    }


SUBGROUPS = {
    "dataset": "PTB-XL fold 9",
    "n_bootstrap": 1000,
    "min_count": 5,
    "thresholds": dict(zip(CLASSES, (0.4, 0.5, 0.5, 0.6, 0.6))),
    "groups": {
        "all": group(2193, 0.917),
        "male": group(1138, 0.912),
        "female": group(1055, 0.923),
        "age < 40": group(285, 0.941, hyp=(0.92, 0.53, 0.97)),
        "age >= 80": group(289, 0.874, hyp=(0.85, 0.72, 0.87)),
        "age unknown": group(11, None, hyp=(None, None, 0.93)),
    },
}


def config(metrics=None, calibration=None):
    return ModelConfig(
        architecture="cardionet",
        hyperparameters={},
        classes=CLASSES,
        binary=False,
        thresholds=(0.4, 0.5, 0.5, 0.6, 0.6),
        input=InputSpec(100.0, 1000, tuple(LEADS)),
        calibration=calibration,
        name="test model",
        metrics=metrics,
    )


@pytest.fixture(scope="module")
def card():
    """The card's text, Hub metadata left out."""
    return model_card(config({"dataset": "PTB-XL fold 9", "subgroups": SUBGROUPS})).text


def sections(text):
    return [line[3:] for line in text.splitlines() if line.startswith("## ")]


def test_every_card_separates_use_out_of_scope_use_and_limitations():
    text = model_card(config()).text
    assert sections(text)[1:4] == ["Intended use", "Out-of-scope use", "Known limitations"]
    assert "not a medical device" in text
    for topic in ("Clinical diagnosis", "under 18", "Real-time", "Other populations"):
        assert topic in text
    for topic in ("Label noise", "Schiller devices in Germany, 1989-1996", "not calibrated"):
        assert topic in text
    assert "Performance by subgroup" not in text


def test_calibrated_model_says_where_it_was_calibrated():
    maps = [{"method": "temperature", "temperature": 1.0}] * len(CLASSES)
    assert "calibrated on PTB-XL only" in model_card(config(calibration=maps)).text


def test_calibrated_model_says_for_which_prevalences_and_points_to_the_adapter():
    maps = [{"method": "temperature", "temperature": 1.0}] * len(CLASSES)
    priors = [0.42, 0.26, 0.25, 0.24, 0.13]
    text = model_card(replace(config(calibration=maps), calibration_priors=priors)).text
    assert "prevalences (NORM 42%, MI 26%, STTC 25%, CD 24%, HYP 13%" in text
    assert "PriorShiftAdaptedClassifier" in text and "--adapt-priors" in text
    assert "PriorShiftAdaptedClassifier" not in model_card(config(calibration=maps)).text


def test_subgroup_section_shows_sizes_macro_auc_and_class_scores(card):
    assert "Performance by subgroup" in sections(card)
    assert "PTB-XL fold 9 (2,193 records)" in card
    assert "1,000 resamples" in card and "shipped thresholds" in card
    summary = next(line for line in card.splitlines() if line.startswith("| female |"))
    assert summary == "| female | 1,055 | 0.923 (0.912-0.935) | 0.79 | 0.87 |"
    hyp_young = next(line for line in card.splitlines() if line.startswith("| HYP | age < 40 |"))
    assert (
        hyp_young
        == "| HYP | age < 40 | 71 | 0.920 (0.900-0.940) | 0.53 (0.51-0.55) | 0.97 (0.95-0.99) |"
    )


def test_subgroups_too_small_for_a_class_read_n_a(card):
    row = next(line for line in card.splitlines() if line.startswith("| HYP | age unknown |"))
    assert row == "| HYP | age unknown | 2 | n/a | n/a | 0.93 (0.91-0.95) |"
    summary = next(line for line in card.splitlines() if line.startswith("| age unknown |"))
    assert summary == "| age unknown | 11 | n/a | n/a | n/a |"


def test_known_limitations_name_the_measured_subgroup_gap(card):
    limitations = card.split("## Known limitations")[1].split("\n## ")[0]
    assert "macro AUC ranges from 0.874 (age >= 80) to 0.941 (age < 40)" in limitations
    assert "HYP sensitivity ranges from 0.53 (age < 40) to 0.72 (age >= 80)" in limitations
    assert "too few records to measure every class in age unknown" in limitations


def test_card_with_subgroups_keeps_its_hub_metadata(tmp_path):
    model_card(config({"subgroups": SUBGROUPS})).save(tmp_path / "README.md")
    assert ModelCard.load(tmp_path / "README.md").data.library_name == "cardionet-sk"


EXTERNAL = {
    "dataset": "PhysioNet/CinC Challenge 2021: Georgia and Chapman-Shaoxing records",
    "description": "34 of 40 records.",
    "n_records": 34,
    "min_count": 5,
    "macro_auc": 0.85,
    "macro_auc_95ci": [0.75, 0.93],
    "per_class": {
        **{c: {"auc": 0.8, "auc_95ci": [0.7, 0.9], "positives": 8} for c in CLASSES},
        "MI": {"auc": None, "auc_95ci": None, "positives": 0},
    },
}


def test_card_shows_the_external_validation_row_when_measured():
    text = model_card(config({"external_validation": EXTERNAL})).text
    assert "External validation" in sections(text)
    assert "Chapman-Shaoxing records, records the model never saw. 34 of 40 records." in text
    row = next(line for line in text.splitlines() if line.startswith("| 34 |"))
    assert row == (
        "| 34 | 0.850 (0.750-0.930) | 0.800 (0.700-0.900) | n/a (0 positives) "
        "| 0.800 (0.700-0.900) | 0.800 (0.700-0.900) | 0.800 (0.700-0.900) |"
    )
    assert "External validation" not in sections(model_card(config()).text)


@pytest.mark.parametrize("name", list_pretrained())
def test_embedded_card_is_the_card_its_config_writes(name):
    folder = EMBEDDED_DIR / name
    config = folder_config(folder)
    card = (folder / MODEL_CARD_NAME).read_text()
    assert card == str(model_card(config))
    if config.task == "superdiagnostic":
        assert "## Performance by subgroup" in card
