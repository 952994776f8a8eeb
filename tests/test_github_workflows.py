"""The GitHub workflows and dependabot.yml are valid, offline, and do what the project promises.

The JSON schemas are SchemaStore's, vendored in the check-jsonschema package (the test extra),
and the YAML is read with ruamel.yaml as check-jsonschema reads it: YAML 1.2, where ``on:`` is
a string key (PyYAML's YAML 1.1 makes it ``True``).
"""

import copy
import json
import re
from importlib import metadata, resources
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema comes with the test extra")
pytest.importorskip(
    "check_jsonschema", reason="the vendored schemas come with check-jsonschema (test extra)"
)
ruamel_yaml = pytest.importorskip("ruamel.yaml", reason="check-jsonschema's YAML parser")

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / ".github"
WORKFLOWS = sorted(GITHUB.joinpath("workflows").glob("*.y*ml"))
# The names of the schemas in check_jsonschema/builtin_schemas/vendor/.
WF, DB = "github-workflows", "dependabot"


def load_yaml(path):
    return ruamel_yaml.YAML(typ="safe", pure=True).load(Path(path).read_text(encoding="utf-8"))


def schema_errors(instance, name):
    """Messages of every violation of the vendored schema ``name``; empty when valid."""
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendor.joinpath(f"{name}.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def workflow(name):
    return load_yaml(GITHUB / "workflows" / name)


def run_commands(job):
    return [step["run"].strip() for step in job["steps"] if "run" in step]


def test_the_expected_files_exist():
    assert {path.name for path in WORKFLOWS} >= {"tests.yml", "docs.yml", "release.yml"}
    assert (GITHUB / "dependabot.yml").is_file()


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_matches_schema(path):
    assert schema_errors(load_yaml(path), "github-workflows") == []


def test_dependabot_matches_schema():
    assert schema_errors(load_yaml(GITHUB / "dependabot.yml"), "dependabot") == []


def _set(document, keys, value):
    for key in keys[:-1]:
        document = document[key]
    document[keys[-1]] = value


# Each breaks a valid file in one way that GitHub would reject.
@pytest.mark.parametrize(
    "file, schema, keys, value",
    [
        pytest.param("workflows/tests.yml", WF, ["jobz"], {}, id="unknown-key"),
        pytest.param("workflows/tests.yml", WF, ["on"], "pushh", id="unknown-event"),
        pytest.param("workflows/tests.yml", WF, ["jobs", "test", "runs_on"], "x", id="misspelt"),
        pytest.param("workflows/tests.yml", WF, ["jobs", "lint", "steps"], "ruff", id="steps"),
        pytest.param(
            "workflows/release.yml",
            WF,
            ["jobs", "publish", "permissions"],
            {"id-token": "writ"},
            id="permission",
        ),
        pytest.param(
            "dependabot.yml", DB, ["updates", 0, "schedule", "interval"], "often", id="interval"
        ),
        pytest.param("dependabot.yml", DB, ["version"], 1, id="dependabot-version"),
    ],
)
def test_schema_rejects_broken_files(file, schema, keys, value):
    document = load_yaml(GITHUB / file)
    assert schema_errors(document, schema) == []
    broken = copy.deepcopy(document)
    _set(broken, keys, value)
    assert schema_errors(broken, schema)


def test_matrix_covers_supported_platforms_and_pythons():
    job = workflow("tests.yml")["jobs"]["test"]
    assert job["strategy"]["fail-fast"] is False
    matrix = job["strategy"]["matrix"]
    assert {os.split("-")[0] for os in matrix["os"]} == {"ubuntu", "macos", "windows"}
    # Strings, and the versions the package declares (an unquoted 3.10 would be 3.1).
    classifiers = metadata.metadata("cardionet-sk").get_all("Classifier")
    declared = [c.rsplit(" ", 1)[-1] for c in classifiers if re.fullmatch(r".*:: 3\.\d+", c)]
    assert matrix["python-version"] == declared == ["3.10", "3.11", "3.12", "3.13"]


def readme_test_command():
    """The second line of README.md's first bash block, without its comment."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^```bash\n(.*?)^```", readme, flags=re.MULTILINE | re.DOTALL)
    return block.group(1).splitlines()[1].split("#")[0].strip()


def test_ci_runs_the_readme_test_command():
    command = readme_test_command()
    assert command == 'pip install ".[test,docs,export]" && python -m pytest -n 2'
    # Its commands, in order, as the test job's run steps and nothing else.
    expected = [part.strip() for part in command.split("&&")]
    assert run_commands(workflow("tests.yml")["jobs"]["test"]) == expected


def test_lint_job_runs_pre_commit():
    runs = run_commands(workflow("tests.yml")["jobs"]["lint"])
    assert any(run.startswith("pre-commit run --all-files") for run in runs)


def test_docs_build_fails_on_warnings_and_deploys_from_main_only():
    jobs = workflow("docs.yml")["jobs"]
    assert "sphinx-build -W --keep-going -b html docs docs/_build/html" in run_commands(
        jobs["build"]
    )
    deploy = jobs["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert "refs/heads/main" in deploy["if"]
    assert any(step.get("uses", "").startswith("actions/deploy-pages@") for step in deploy["steps"])


def test_release_uses_trusted_publishing():
    release = workflow("release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    assert {"python -m build", "twine check --strict dist/*"} <= set(
        run_commands(release["jobs"]["build"])
    )
    publish = release["jobs"]["publish"]
    assert publish["needs"] == "build"
    assert publish["environment"]["name"] == "pypi"
    assert publish["permissions"] == {"id-token": "write"}
    (step,) = [s for s in publish["steps"] if "pypa/gh-action-pypi-publish" in s.get("uses", "")]
    assert step["uses"] == "pypa/gh-action-pypi-publish@release/v1"
    # No API token: the OIDC token is the credential.
    assert "password" not in step.get("with", {})


def test_only_the_deploying_jobs_get_write_permissions():
    for path in WORKFLOWS:
        document = load_yaml(path)
        assert document["permissions"] == {"contents": "read"}, path.name
        for name, job in document["jobs"].items():
            writes = {k for k, v in job.get("permissions", {}).items() if v == "write"}
            assert writes <= {"pages", "id-token"}, f"{path.name}: {name}"


def test_dependabot_updates_the_actions():
    updates = load_yaml(GITHUB / "dependabot.yml")["updates"]
    assert {"package-ecosystem": "github-actions", "directory": "/"}.items() <= updates[0].items()
