"""The sdist and the wheel build, and PyPI would render their description (``twine check``).

The release workflow runs the same two commands before publishing; these tests catch a
README that PyPI would reject (its ``long_description``) before a tag does. They need
``build``, ``twine`` and ``readme-renderer[md]`` (without a Markdown renderer ``twine check``
passes any Markdown), which the test extra installs, and PyPI's index unless the build
backend (``setuptools``, ``wheel``) is installed (then the build is not isolated).
"""

import importlib.util
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _missing(what):
    # The README's test command installs the test extra, so on CI this is a failure.
    report = pytest.fail if os.environ.get("CI") else pytest.skip
    report(f"needs {what}: pip install -e '.[test]'")


def _require(*modules):
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        _missing(" and ".join(missing))


def test_readme_renders_as_on_pypi():
    _require("readme_renderer")
    from readme_renderer.markdown import render

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Markdown renderers are not available"
        html = render((ROOT / "README.md").read_text(encoding="utf-8"), variant="GFM")
    if html is None:
        _missing("a Markdown renderer for readme-renderer (readme-renderer[md])")
    assert html.count("<table") == 1
    assert (
        'href="https://github.com/cardionet-sk/cardionet-sk/blob/main/docs/benchmarks.md"' in html
    )


def _backend_installed():
    """Whether pyproject.toml's build requirements are importable here (no download needed)."""
    try:
        import setuptools
        import wheel  # noqa: F401
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77


@pytest.mark.slow
def test_sdist_and_wheel_pass_twine_check(tmp_path):
    _require("build", "twine")
    dist = tmp_path / "dist"
    command = [sys.executable, "-m", "build", "--outdir", str(dist)]
    if _backend_installed():
        command.append("--no-isolation")
    built = subprocess.run(
        [*command, str(ROOT)], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    files = sorted(dist.iterdir())
    assert sorted(path.suffix for path in files) == [".gz", ".whl"], files
    checked = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
