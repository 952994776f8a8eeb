"""MultilabelVotingClassifier: a soft vote of multi-label classifiers, saved as one model."""

import json
import pickle
import shutil

import numpy as np
import pytest
from _helpers import write_record
from sklearn.base import clone
from sklearn.datasets import make_multilabel_classification
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from cardionet_sk import (
    CardioNetClassifier,
    MultilabelVotingClassifier,
    __version__,
    list_pretrained,
    load_pretrained,
)
from cardionet_sk.datasets import load_sample, read_record
from cardionet_sk.hub import _resolve

TINY = {"model__filters": (2,), "model__kernel_sizes": (3,), "model__dense_units": 4, "epochs": 1}


@pytest.fixture(scope="module")
def data():
    return make_multilabel_classification(n_samples=150, n_classes=3, random_state=0)


def _members():
    # An (n, k) array and a list of (n, 2) arrays: both multi-label conventions.
    return [
        ("ovr", OneVsRestClassifier(LogisticRegression(solver="liblinear"))),
        ("knn", KNeighborsClassifier()),
    ]


def test_probabilities_are_the_weighted_mean_of_the_members(data):
    X, y = data
    ensemble = MultilabelVotingClassifier(_members(), weights=[3, 1]).fit(X, y)
    ovr, knn = ensemble.estimators_
    expected = (
        3 * ovr.predict_proba(X) + np.column_stack([p[:, 1] for p in knn.predict_proba(X)])
    ) / 4
    np.testing.assert_allclose(ensemble.predict_proba(X), expected)
    np.testing.assert_array_equal(ensemble.predict(X), (expected >= 0.5).astype(int))
    assert set(ensemble.named_estimators_) == {"ovr", "knn"}


def test_frozen_members_are_used_as_fitted(data):
    X, y = data
    fitted = OneVsRestClassifier(LogisticRegression(solver="liblinear")).fit(X[:50], y[:50])
    coefficients = [e.coef_.copy() for e in fitted.estimators_]
    ensemble = MultilabelVotingClassifier(
        [("frozen", FrozenEstimator(fitted)), ("knn", KNeighborsClassifier())]
    ).fit(X, y)
    assert ensemble.estimators_[0].estimator is fitted
    assert all(np.array_equal(e.coef_, c) for e, c in zip(fitted.estimators_, coefficients))


def test_composes_clones_and_pickles(data):
    X, y = data
    pipeline = make_pipeline(StandardScaler(), MultilabelVotingClassifier(_members()))
    pipeline.fit(X, y)
    restored = pickle.loads(pickle.dumps(pipeline))
    np.testing.assert_array_equal(restored.predict_proba(X), pipeline.predict_proba(X))
    assert clone(pipeline[-1]).get_params()["weights"] is None


@pytest.mark.parametrize(
    "estimators, message",
    [
        ([], "non-empty list"),
        ([("a", KNeighborsClassifier()), ("a", KNeighborsClassifier())], "unique"),
        ([("svm", LinearSVC())], "'svm' .* has no predict_proba"),
    ],
)
def test_bad_members_are_named(data, estimators, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        MultilabelVotingClassifier(estimators).fit(X, y)


def test_weights_must_match_the_members(data):
    X, y = data
    with pytest.raises(ValueError, match="one weight per estimator"):
        MultilabelVotingClassifier(_members(), weights=[1.0]).fit(X, y)


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture(scope="module")
def saved(sample, tmp_path_factory):
    members = [
        (
            f"net{seed}",
            CardioNetClassifier(**TINY, random_state=seed).fit(sample.data, sample.target),
        )
        for seed in (0, 1)
    ]
    ensemble = MultilabelVotingClassifier(
        [(name, FrozenEstimator(m)) for name, m in members], weights=[2, 1], threshold=0.4
    ).fit(sample.data, sample.target)
    folder = ensemble.save_pretrained(
        tmp_path_factory.mktemp("ensemble") / "two-nets", task="superdiagnostic", name="two nets"
    )
    return ensemble, folder


def test_an_ensemble_saves_and_loads_as_one_model_folder(saved, sample):
    ensemble, folder = saved
    assert sorted(p.name for p in (folder / "members").iterdir()) == ["net0", "net1"]
    loaded = load_pretrained(folder)
    assert isinstance(loaded, MultilabelVotingClassifier)
    np.testing.assert_allclose(
        loaded.predict_proba(sample.data), ensemble.predict_proba(sample.data)
    )
    np.testing.assert_array_equal(loaded.predict(sample.data), ensemble.predict(sample.data))
    assert loaded.classes_.tolist() == ensemble.classes_.tolist()
    assert loaded.pretrained_config_.task == "superdiagnostic"


def test_an_ensemble_folder_has_a_model_card_with_its_thresholds_and_input(saved):
    ensemble, folder = saved
    card = (folder / "README.md").read_text()
    assert card.startswith("---\n") and "library_name: cardionet-sk" in card
    assert "# two nets" in card
    assert (
        "predict` applies the thresholds " + ", ".join(f"{c} 0.40" for c in ensemble.classes_)
        in card
    )
    assert "## Intended use" in card and "## Known limitations" in card


def test_an_embedded_ensemble_is_listed_with_its_task(saved, monkeypatch):
    _, folder = saved
    monkeypatch.setattr(_resolve, "EMBEDDED_DIR", folder.parent)
    assert list_pretrained() == ["two-nets"]
    (details,) = list_pretrained(details=True)
    assert details["architecture"] == "ensemble" and details["task"] == "superdiagnostic"
    assert details["n_classes"] == 5


@pytest.mark.parametrize(
    ("field", "value"), [("name", "../../elsewhere"), ("name", ".."), ("embedded", "yes")]
)
def test_a_tampered_ensemble_file_is_rejected(saved, tmp_path, field, value):
    _, folder = saved
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "members").symlink_to(folder / "members")
    config = json.loads((folder / "ensemble.json").read_text())
    config["members"][0][field] = value
    (copy / "ensemble.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"field 'members\[0\]\.(name|embedded)'"):
        MultilabelVotingClassifier.from_pretrained(copy)


def test_only_cardionet_members_save_as_a_model_folder(data, tmp_path):
    X, y = data
    ensemble = MultilabelVotingClassifier(_members()).fit(X, y)
    with pytest.raises(ValueError, match="Only an ensemble of CardioNetClassifier"):
        ensemble.save_pretrained(tmp_path / "no")
    assert not (tmp_path / "no").exists()


def test_the_command_line_scores_records_with_the_ensembles_thresholds(
    saved, sample, tmp_path, capsys
):
    from cardionet_sk._cli import main

    ensemble, folder = saved
    headers = [write_record(tmp_path, f"r{i}", sample.data[i]) for i in range(4)]
    arguments = ["predict", *map(str, headers), "--model", str(folder), "--format", "json"]
    assert main(arguments) == 0
    rows = json.loads(capsys.readouterr().out)
    proba = ensemble.predict_proba(np.stack([read_record(h).signal for h in headers]))
    np.testing.assert_allclose(
        [list(row["probabilities"].values()) for row in rows], proba, rtol=1e-6, atol=1e-7
    )
    # The ensemble's threshold decides, not its members' (0.5).
    expected = [[str(c) for c, p in zip(ensemble.classes_, row) if p >= 0.4] for row in proba]
    assert [row["labels"] for row in rows] == expected


def test_info_summarises_an_ensemble_and_its_members(saved, capsys):
    from cardionet_sk._cli import main

    ensemble, folder = saved
    assert main(["info", "--model", str(folder)]) == 0
    out = capsys.readouterr().out
    parameters = sum(m.estimator.model_.count_params() for m in ensemble.estimators_)
    assert out.startswith(f"two nets (cardionet-sk {__version__}, architecture cardionet + ")
    assert f"{parameters:,} parameters)" in out.splitlines()[0]
    assert "thresholds: " + ", ".join(f"{c} 0.40" for c in ensemble.classes_) in out


def test_saving_over_a_folder_that_is_no_ensemble_is_refused(saved, tmp_path):
    ensemble, _ = saved
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="holds no ensemble"):
        ensemble.save_pretrained(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    # An ensemble folder is replaced, whole.
    folder = ensemble.save_pretrained(tmp_path / "again")
    assert ensemble.save_pretrained(folder) == folder
    assert MultilabelVotingClassifier.from_pretrained(folder).n_classes_ == 5


def test_loaded_members_keep_their_card_and_float16_weights(sample, tmp_path):
    member = CardioNetClassifier(**TINY).fit(sample.data, sample.target)
    half = CardioNetClassifier.from_pretrained(
        member.save_pretrained(tmp_path / "half", weights_dtype="float16", name="half net")
    )
    ensemble = MultilabelVotingClassifier(
        [("half", FrozenEstimator(half)), ("full", FrozenEstimator(member))]
    ).fit(sample.data, sample.target)
    folder = ensemble.save_pretrained(tmp_path / "ensemble")
    stored = {
        name: json.loads((folder / "members" / name / "config.json").read_text())
        for name in ("half", "full")
    }
    assert stored["half"]["weights_dtype"] == "float16"
    assert stored["full"]["weights_dtype"] == "float32"
    assert stored["half"]["name"] == "half net"
    np.testing.assert_allclose(
        MultilabelVotingClassifier.from_pretrained(folder).predict_proba(sample.data),
        ensemble.predict_proba(sample.data),
        rtol=1e-6,
    )


@pytest.fixture
def embedded(saved, tmp_path, monkeypatch):
    """The package's embedded models, here the two members of ``saved``."""
    _, folder = saved
    embedded_dir = tmp_path / "pretrained"
    for name in ("net0", "net1"):
        shutil.copytree(folder / "members" / name, embedded_dir / name)
    monkeypatch.setattr(_resolve, "EMBEDDED_DIR", embedded_dir)
    return embedded_dir


def test_an_embedded_ensemble_refers_to_its_embedded_members_instead_of_copying_them(
    saved, embedded, sample
):
    ensemble, folder = saved
    loaded = MultilabelVotingClassifier.from_pretrained(folder)
    linked = loaded.save_pretrained(embedded / "two-nets", embedded_members=True, name="linked")
    assert sorted(p.name for p in linked.iterdir()) == ["README.md", "ensemble.json"]
    members = json.loads((linked / "ensemble.json").read_text())["members"]
    assert [(m["name"], m["embedded"]) for m in members] == [("net0", True), ("net1", True)]
    assert list_pretrained() == ["net0", "net1", "two-nets"]
    reloaded = load_pretrained("two-nets")
    np.testing.assert_allclose(
        reloaded.predict_proba(sample.data), ensemble.predict_proba(sample.data), rtol=1e-6
    )
    assert "# linked" in (linked / "README.md").read_text()


@pytest.mark.parametrize(
    ("member", "reason"),
    [("net0", "its config or weights differ"), ("net7", "there is none")],
)
def test_a_member_that_is_not_the_embedded_model_of_its_name_is_not_referred_to(
    saved, embedded, sample, tmp_path, member, reason
):
    ensemble, _ = saved
    other = CardioNetClassifier(**TINY, random_state=7).fit(sample.data, sample.target)
    mixed = MultilabelVotingClassifier(
        [(member, FrozenEstimator(other)), ("net1", ensemble.estimators_[1])]
    ).fit(sample.data, sample.target)
    with pytest.raises(ValueError, match=rf"'{member}' is not the embedded .*\({reason}\)"):
        mixed.save_pretrained(tmp_path / "mixed", embedded_members=True)
    assert not (tmp_path / "mixed").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["pretrained"]


def test_a_member_differing_only_in_its_card_is_the_embedded_model(saved, embedded, tmp_path):
    net0 = CardioNetClassifier.from_pretrained(embedded / "net0")
    net0.save_pretrained(embedded / "net0", name="renamed", metrics={"macro_auc": 0.5})
    loaded = MultilabelVotingClassifier.from_pretrained(saved[1])
    linked = loaded.save_pretrained(tmp_path / "linked", embedded_members=True)
    assert json.loads((linked / "ensemble.json").read_text())["members"][0]["embedded"]
    # The decision thresholds are part of the model, not of its card.
    net0.set_params(threshold=0.3).save_pretrained(embedded / "net0")
    with pytest.raises(ValueError, match="'net0' is not the embedded model"):
        loaded.save_pretrained(tmp_path / "linked", embedded_members=True)


def test_an_ensemble_whose_embedded_member_is_missing_names_it(saved, embedded):
    linked = MultilabelVotingClassifier.from_pretrained(saved[1]).save_pretrained(
        embedded / "two-nets", embedded_members=True
    )
    shutil.rmtree(embedded / "net1")
    with pytest.raises(ValueError, match="member 'net1' is the embedded model of that name, which"):
        MultilabelVotingClassifier.from_pretrained(linked)
