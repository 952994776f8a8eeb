"""Models of a subset of the leads: trained through PTBXLWindower(leads=...), saved with
their lead names, and given only those leads, by name, from longer records."""

import csv
import io

import numpy as np
import pytest
from _helpers import write_record
from sklearn.pipeline import make_pipeline

from cardionet_sk import LEADS, CardioNetClassifier, PTBXLWindower
from cardionet_sk._cli import main
from cardionet_sk.datasets import load_sample, read_record

SUBSET = ["II", "V1"]
TINY = {
    "model__filters": (2,),
    "model__kernel_sizes": (3,),
    "model__dense_units": 4,
    "epochs": 1,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture(scope="module")
def two_lead_pipeline(sample):
    pipeline = make_pipeline(
        PTBXLWindower(leads=SUBSET), CardioNetClassifier(**TINY, class_names=sample.target_names)
    )
    return pipeline.fit(sample.data, sample.target)


@pytest.fixture(scope="module")
def two_lead_model(two_lead_pipeline, tmp_path_factory):
    windower, clf = two_lead_pipeline
    return clf.save_pretrained(
        tmp_path_factory.mktemp("subset") / "two-lead", lead_names=windower.leads
    )


def test_a_pipeline_trains_on_the_leads_named_in_the_windower(two_lead_pipeline, sample):
    assert two_lead_pipeline[-1].n_leads_in_ == 2
    assert two_lead_pipeline.predict_proba(sample.data).shape == (52, 5)


def test_the_saved_model_records_its_leads(two_lead_model):
    loaded = CardioNetClassifier.from_pretrained(two_lead_model)
    assert loaded.pretrained_config_.input.leads == tuple(SUBSET)


def test_the_saved_model_takes_its_leads_and_names_them_when_given_others(
    two_lead_model, two_lead_pipeline, sample
):
    loaded = CardioNetClassifier.from_pretrained(two_lead_model)
    columns = [LEADS.index(lead) for lead in SUBSET]
    np.testing.assert_allclose(
        loaded.predict_proba(sample.data[..., columns]),
        two_lead_pipeline.predict_proba(sample.data),
        rtol=1e-5,
    )
    with pytest.raises(
        ValueError, match=r"fitted with 2 leads: II V1, in this order.*PTBXLWindower\(leads="
    ):
        loaded.predict_proba(sample.data)


def _cli_probabilities(header, model, capsys):
    assert main(["predict", str(header), "--model", str(model), "--format", "csv"]) == 0
    row = list(csv.reader(io.StringIO(capsys.readouterr().out)))[1]
    return np.array(row[1:6], dtype=float)


def test_the_command_line_takes_the_model_leads_by_name_from_a_12_lead_record(
    two_lead_model, sample, tmp_path, capsys
):
    header = write_record(tmp_path, "full", sample.data[0].astype(np.float64))
    signal = read_record(header).signal[np.newaxis]  # as written: 16-bit samples
    loaded = CardioNetClassifier.from_pretrained(two_lead_model)
    expected = loaded.predict_proba(signal[..., [LEADS.index(lead) for lead in SUBSET]])
    np.testing.assert_allclose(
        _cli_probabilities(header, two_lead_model, capsys), expected[0], atol=1e-4
    )


def test_the_command_line_rejects_a_record_without_the_model_leads(
    two_lead_model, sample, tmp_path, capsys
):
    limb_leads = LEADS[:6]
    header = write_record(
        tmp_path, "limbs", sample.data[0, :, :6].astype(np.float64), leads=limb_leads
    )
    assert main(["predict", str(header), "--model", str(two_lead_model), "--strict"]) == 1
    assert (
        "lacks the lead(s) V1 of the model, which takes the 2 leads II V1"
        in capsys.readouterr().err
    )


def test_the_command_line_reads_leads_by_name_in_any_order(sample, tmp_path, capsys):
    model = (
        CardioNetClassifier(**TINY, class_names=sample.target_names)
        .fit(sample.data, sample.target)
        .save_pretrained(tmp_path / "twelve")
    )
    record = sample.data[0].astype(np.float64)
    ordered = write_record(tmp_path, "ordered", record)
    reversed_ = write_record(tmp_path, "reversed", record[:, ::-1], leads=LEADS[::-1])
    np.testing.assert_array_equal(
        _cli_probabilities(reversed_, model, capsys), _cli_probabilities(ordered, model, capsys)
    )
