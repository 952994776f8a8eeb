"""Marks shared by the whole test session (the tests/ folder and the package's doctests).

The hook lives at the repository root because pytest calls a collection hook only for the
conftest files of the paths it collects; tests/conftest.py holds the fixtures.
"""

import inspect
import re

import pytest

#: Test modules whose tests train a Keras network, load one, or start a process (the CLI in
#: a subprocess, Dask workers, Sphinx, mypy, a wheel build): all marked ``slow``, so that
#: ``pytest -m "not slow"`` is the quick loop of the pure-Python code (readers, schemas,
#: thresholds, calibration maps, prior estimation, windowing, docs text).
SLOW_MODULES = {
    "test_architectures",
    "test_classifier",
    "test_cli",
    "test_cli_archive",
    "test_code_quality",
    "test_dask",
    "test_distribute",
    "test_distributed_predict",
    "test_docs",
    "test_ensemble",
    "test_export",
    "test_finetune",
    "test_hub",
    "test_inference",
    "test_input_contract",
    "test_lead_subsets",
    "test_loading",
    "test_model_config",
    "test_packaging",
}


#: What in a test's source, or its fixtures', trains or loads a network or starts a process.
HEAVY_CALLS = re.compile(
    r"CardioNetClassifier\(|\.from_pretrained\(|load_pretrained\(|subprocess\.|Process\(|main\(\["
)


def _sources(item):
    """The source of a test function and of the fixtures it uses, or of a doctest."""
    if hasattr(item, "dtest"):
        yield "\n".join(example.source for example in item.dtest.examples)
    functions = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for definitions in info.name2fixturedefs.values() if info else ():
        functions += [definition.func for definition in definitions]
    for function in functions:
        try:
            yield inspect.getsource(function)
        except (OSError, TypeError):
            continue


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.path.stem
        # The common checks of CardioNetClassifier (and of pipelines ending in it) fit networks.
        trains = module == "test_common" and (
            "CardioNetClassifier" in item.nodeid or "Pipeline(" in item.nodeid
        )
        if module in SLOW_MODULES or trains or any(map(HEAVY_CALLS.search, _sources(item))):
            item.add_marker(pytest.mark.slow)
