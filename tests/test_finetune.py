"""Fine-tuning: a pretrained network as the starting point of a model for new labels."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from cardionet_sk import CardioNetClassifier
from cardionet_sk.datasets import load_sample

TINY = {
    "model__filters": (4, 4),
    "model__kernel_sizes": (3, 3),
    "dense_units": 8,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture(scope="module")
def pretrained(sample, tmp_path_factory):
    """A tiny network trained on the five superclasses, saved as a model folder."""
    clf = CardioNetClassifier(**TINY, epochs=1, class_names=sample.target_names)
    return clf.fit(sample.data, sample.target).save_pretrained(
        tmp_path_factory.mktemp("pretrained") / "tiny"
    )


@pytest.fixture(scope="module")
def new_labels(sample):
    """Three labels the pretrained network never saw."""
    y = np.column_stack(
        [sample.target[:, 0], sample.target[:, 1] | sample.target[:, 2], 1 - sample.target[:, 4]]
    )
    return pd.DataFrame(y, columns=["normal", "ischaemia", "no_hypertrophy"])


def body_weights(model):
    return {
        layer.name: layer.get_weights()
        for layer in model.layers
        if layer.weights and layer.name != "probabilities"
    }


def test_frozen_body_keeps_the_pretrained_weights_under_a_new_head(sample, pretrained, new_labels):
    source = CardioNetClassifier.from_pretrained(pretrained)
    clf = CardioNetClassifier(init=str(pretrained), init__freeze_epochs=1, epochs=1, random_state=0)
    clf.fit(sample.data, new_labels)
    assert clf.classes_.tolist() == ["normal", "ischaemia", "no_hypertrophy"]
    assert clf.predict_proba(sample.data).shape == (52, 3)
    assert clf.hyperparameters_ == source.hyperparameters_
    for name, weights in body_weights(source.model_).items():
        for a, b in zip(weights, clf.model_.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(clf.mean_, source.mean_)


def test_unfrozen_fine_tuning_trains_the_body_too(sample, pretrained, new_labels):
    source = CardioNetClassifier.from_pretrained(pretrained)
    clf = CardioNetClassifier(init=str(pretrained), init__freeze_epochs=1, epochs=2, random_state=0)
    clf.fit(sample.data, new_labels)
    assert len(clf.history_["loss"]) == 2
    changed = [
        not np.array_equal(a, b)
        for name, weights in body_weights(source.model_).items()
        for a, b in zip(weights, clf.model_.get_layer(name).get_weights())
    ]
    assert any(changed)


def test_statistics_can_be_learned_from_the_new_records(sample, pretrained, new_labels):
    source = CardioNetClassifier.from_pretrained(pretrained)
    clf = CardioNetClassifier(init=str(pretrained), init__standardization=False, epochs=1)
    clf.fit(sample.data[:40], new_labels[:40])
    assert not np.allclose(clf.mean_, source.mean_)


def test_init_survives_clone_and_grid_search(sample, pretrained, new_labels):
    clf = CardioNetClassifier(init=str(pretrained), epochs=1, validation_split=0, random_state=0)
    assert clone(clf).get_params()["init"] == str(pretrained)
    search = GridSearchCV(
        clf, {"init__freeze_epochs": [0, 1]}, cv=KFold(2), scoring="roc_auc", error_score="raise"
    ).fit(sample.data, new_labels)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize(
    ("records", "settings", "match"),
    [
        (lambda X: X[:, :, :6], {}, "takes the 12 leads .* X has 6 leads"),
        (lambda X: X[:, :500], {}, "takes 1000 timesteps"),
        (lambda X: X, {"sampling_rate": 500}, "takes records at 100 Hz"),
        (lambda X: X, {"architecture": "resnet1d_wang"}, "is a 'cardionet' network"),
    ],
)
def test_records_outside_the_pretrained_contract_are_rejected(
    sample, pretrained, new_labels, records, settings, match
):
    clf = CardioNetClassifier(init=str(pretrained), epochs=1, signal_checks=False, **settings)
    with pytest.raises(ValueError, match=match):
        clf.fit(records(sample.data), new_labels)


def test_records_at_another_rate_with_named_leads_are_adapted_to_the_pretrained_contract(
    sample, pretrained, new_labels
):
    from scipy.signal import resample_poly

    names = ["V6", "V5", "V4", "V3", "V2", "V1", "aVF", "AVL", "-aVR", "DIII", "DII", "DI"]
    X = sample.data[..., ::-1].copy()
    X[..., 8] *= -1  # -aVR
    at_500 = resample_poly(X.astype(np.float64), 5, 1, axis=1)
    adapted = CardioNetClassifier(init=str(pretrained), epochs=1, random_state=0)
    adapted.fit(at_500, new_labels, sampling_rate=500, lead_names=names)
    plain = CardioNetClassifier(init=str(pretrained), epochs=1, random_state=0)
    plain.fit(sample.data, new_labels)
    np.testing.assert_allclose(
        adapted.predict_proba(sample.data[:4]), plain.predict_proba(sample.data[:4]), atol=0.02
    )
