"""One loader: load_pretrained opens any saved model; each from_pretrained its own kind."""

import ast
import inspect
import json
from pathlib import Path

import numpy as np
import pytest

import cardionet_sk
from cardionet_sk import CardioNetClassifier, MultilabelVotingClassifier, load_pretrained
from cardionet_sk.datasets import load_sample
from cardionet_sk.hub import ConfigError, EnsembleConfig, read_ensemble_config

PACKAGE = Path(cardionet_sk.__file__).parent


def test_load_pretrained_opens_each_kind_of_saved_model_as_its_own_class():
    assert type(load_pretrained("cardionet-ptbxl")) is CardioNetClassifier
    ensemble = load_pretrained("ensemble-ptbxl")
    assert type(ensemble) is MultilabelVotingClassifier
    assert isinstance(ensemble.pretrained_config_, EnsembleConfig)


def test_load_pretrained_gives_the_probabilities_each_class_loader_gives():
    X = load_sample().data[:4]
    np.testing.assert_array_equal(
        load_pretrained("resnet1d-wang-ptbxl").predict_proba(X),
        CardioNetClassifier.from_pretrained("resnet1d-wang-ptbxl").predict_proba(X),
    )


def test_the_two_from_pretrained_and_load_pretrained_share_one_signature():
    def keywords(function):
        return {
            name: p.default
            for name, p in inspect.signature(function).parameters.items()
            if p.kind is p.KEYWORD_ONLY
        }

    expected = keywords(load_pretrained)
    assert set(expected) >= {"revision", "token", "cache_dir"}
    assert keywords(CardioNetClassifier.from_pretrained) == expected
    assert keywords(MultilabelVotingClassifier.from_pretrained) == expected


def test_classifier_from_pretrained_of_an_ensemble_warns_and_points_to_load_pretrained():
    with pytest.warns(FutureWarning, match="load_pretrained"):
        ensemble = CardioNetClassifier.from_pretrained("ensemble-ptbxl")
    assert type(ensemble) is MultilabelVotingClassifier


def test_ensemble_from_pretrained_of_a_single_network_points_to_load_pretrained():
    with pytest.raises(ValueError, match="not an ensemble.*load_pretrained"):
        MultilabelVotingClassifier.from_pretrained("cardionet-ptbxl")


def test_fine_tuning_init_refuses_an_ensemble_naming_it():
    X, y = load_sample().data[:8], load_sample().target[:8]
    clf = CardioNetClassifier("resnet1d_wang", init="ensemble-ptbxl", epochs=1)
    with pytest.raises(ValueError, match="init='ensemble-ptbxl' is an ensemble"):
        clf.fit(X, y)


def _imports(path):
    """The package modules ``path`` imports, at module level or inside functions."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    module = module.removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rsplit(".", 1)[0]
            target = (
                (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            )
            if target and target.startswith("cardionet_sk"):
                names = [f"{target}.{alias.name}" for alias in node.names]
                found |= {n for n in names if _module_file(n)} or {target}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("cardionet_sk")}
    return module, {m for m in found if _module_file(m)}


def _module_file(module):
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


#: Imports back up the graph kept for one release only, each on a deprecated path that
#: goes in 0.6: CardioNetClassifier.from_pretrained of an ensemble or legacy folder.
DEPRECATED_EDGES = {("cardionet_sk._pretrained", "cardionet_sk._loading")}


def test_no_import_circle_among_the_package_modules():
    graph = dict(_imports(path) for path in PACKAGE.rglob("*.py"))
    for module, targets in graph.items():
        # A package's __init__ re-exports its submodules: importing it is importing them.
        graph[module] = {t for t in targets if not module.startswith(t + ".")}
    graph = {m: {t for t in ts if (m, t) not in DEPRECATED_EDGES} for m, ts in graph.items()}
    assert graph["cardionet_sk._loading"] >= {"cardionet_sk._classifier", "cardionet_sk._ensemble"}

    state, path = {}, []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                cycle = path[path.index(target) :] + [target]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_no_library_module_imports_the_command_line():
    for path in PACKAGE.rglob("*.py"):
        module, targets = _imports(path)
        if not module.split(".")[-1].startswith("_cli") and module != "cardionet_sk.__main__":
            assert not [t for t in targets if t.split(".")[-1].startswith("_cli")], module


# -- ensemble.json, one schema ---------------------------------------------------------------


def _ensemble_file(tmp_path, change):
    folder = tmp_path / "ensemble"
    folder.mkdir()
    embedded = Path(cardionet_sk.hub.EMBEDDED_DIR) / "ensemble-ptbxl" / "ensemble.json"
    config = json.loads(embedded.read_text())
    change(config)
    (folder / "ensemble.json").write_text(json.dumps(config))
    return folder


def test_the_embedded_ensemble_file_round_trips_through_its_schema():
    folder = Path(cardionet_sk.hub.EMBEDDED_DIR) / "ensemble-ptbxl"
    config = read_ensemble_config(folder)
    assert config.to_dict() == json.loads((folder / "ensemble.json").read_text())
    assert EnsembleConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c["thresholds"].__setitem__(0, 1.7), "thresholds"),
        (lambda c: c["thresholds"].pop(), "thresholds"),
        (lambda c: c["members"][0].__setitem__("weight", -1), r"members\[0\]\.weight"),
        (lambda c: c["members"][0].__setitem__("weight", "heavy"), r"members\[0\]\.weight"),
        (lambda c: c["members"][1].__setitem__("name", "../x"), r"members\[1\]\.name"),
        (lambda c: c["members"][0].__setitem__("embedded", "yes"), r"members\[0\]\.embedded"),
        (lambda c: c["members"][0].__setitem__("code", "os"), r"members\[0\]"),
        (lambda c: c["members"].append(dict(c["members"][0])), "members"),
        (lambda c: [m.__setitem__("weight", 0) for m in c["members"]], "members"),
        (lambda c: c.__setitem__("classes", ["NORM", "NORM", "A", "B", "C"]), "classes"),
        (lambda c: c.__setitem__("task", 3), "task"),
        (lambda c: c.__setitem__("metrics", []), "metrics"),
        (lambda c: c.__setitem__("loader", "pickle"), "unknown field"),
    ],
)
def test_a_tampered_ensemble_file_is_rejected_naming_the_file_and_field(tmp_path, change, field):
    folder = _ensemble_file(tmp_path, change)
    with pytest.raises(ConfigError, match=rf"ensemble\.json: (field '{field}'|{field})"):
        read_ensemble_config(folder)
