"""ruff and mypy pass on the repository, so that the README's test command enforces them.

The tools read their configuration from pyproject.toml; each is skipped when not installed
(they come with the test extra), except on CI, where that is a failure.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_tool(module, *args):
    if importlib.util.find_spec(module) is None:
        # The README's test command installs the extra, so on CI a missing tool is a failure.
        missing = pytest.fail if os.environ.get("CI") else pytest.skip
        missing(f"{module} is not installed: pip install -e '.[test]'")
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    if result.returncode != 0:
        pytest.fail(f"{module} {' '.join(args)}\n{result.stdout}{result.stderr}", pytrace=False)


def test_ruff_check():
    run_tool("ruff", "check", "--no-fix", ".")


def test_ruff_format():
    # Python files only, as the pre-commit hook: the Markdown code blocks are aligned by hand.
    run_tool("ruff", "format", "--check", "--extend-exclude", "*.md", ".")


def test_mypy():
    # files = ["cardionet_sk"] in pyproject.toml; the cache in .mypy_cache keeps reruns fast.
    run_tool("mypy")


def test_pre_commit_config_is_valid():
    run_tool("pre_commit", "validate-config", ".pre-commit-config.yaml")
