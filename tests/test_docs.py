"""The documentation builds without a warning, and every gallery example is well formed.

The build runs ``sphinx-build -n -W --keep-going -b html -D plot_gallery=0``: the pages, the
API reference generated from the docstrings and the gallery's pages, without running the
examples (that is the job of the documentation workflow, which builds the full site). ``-n``
makes every unresolved cross-reference an error. It runs offline
(``CARDIONET_DOCS_OFFLINE=1`` unless set): other projects' inventories are not downloaded
and only their names go unchecked (see docs/conf.py). It needs the docs extra:
``pip install -e ".[docs]"``.
"""

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))

#: Modules the documentation build imports, by the name of the package that provides them.
DOCS_REQUIREMENTS = {
    "sphinx": "sphinx",
    "numpydoc": "numpydoc",
    "sphinx_gallery": "sphinx-gallery",
    "pydata_sphinx_theme": "pydata-sphinx-theme",
    "myst_parser": "myst-parser",
    "matplotlib": "matplotlib",
}


def test_there_are_examples():
    assert len(EXAMPLES) >= 6, [p.name for p in EXAMPLES]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_compiles_and_has_a_title(path):
    """sphinx-gallery needs a module docstring whose first line, underlined, is the title."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    compile(tree, str(path), "exec")
    docstring = ast.get_docstring(tree, clean=False)
    assert docstring, f"{path.name} has no module docstring"
    lines = docstring.strip("\n").splitlines()
    assert len(lines) >= 2, f"{path.name}: the docstring has no title"
    title, underline = lines[0], lines[1]
    assert title.strip(), f"{path.name}: empty title"
    assert set(underline) == {"="} and len(underline) >= len(title), (
        f"{path.name}: the title {title!r} must be underlined with '=' at least as long"
    )
    assert "# %%" in source, f"{path.name} has no '# %%' cell"
    # Examples that use PTB-XL records credit the dataset.
    if "load_sample" in source or "fetch_ptbxl" in source:
        assert "10.13026/x4td-x982" in docstring, f"{path.name} does not credit PTB-XL"


def test_gallery_has_a_readme():
    readme = ROOT / "examples" / "README.rst"
    assert readme.is_file()
    assert readme.read_text(encoding="utf-8").strip()


def test_sphinx_build_has_no_warning(tmp_path):
    missing = [
        package
        for module, package in DOCS_REQUIREMENTS.items()
        if importlib.util.find_spec(module) is None
    ]
    if missing:
        # The README's test command installs the extra, so on CI this is a failure.
        report = pytest.fail if os.environ.get("CI") else pytest.skip
        report(f"the documentation build needs {', '.join(missing)}: pip install -e '.[docs]'")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"}
    env.setdefault("CARDIONET_DOCS_OFFLINE", "1")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-n",
            "-W",
            "--keep-going",
            "-b",
            "html",
            "-D",
            "plot_gallery=0",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(tmp_path / "html"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
    )
    if result.returncode != 0:
        log = "\n".join(
            line
            for line in (result.stdout + result.stderr).splitlines()
            if "WARNING" in line or "ERROR" in line or "Error" in line
        )
        pytest.fail(f"sphinx-build failed:\n{log or result.stderr[-5000:]}", pytrace=False)
    html = tmp_path / "html"
    for page in [
        "index.html",
        "install.html",
        "quick_start.html",
        "user_guide.html",
        "api.html",
        "benchmarks.html",
        "changelog.html",
        "auto_examples/index.html",
        "generated/cardionet_sk.CardioNetClassifier.html",
        "generated/cardionet_sk.datasets.fetch_ptbxl.html",
    ]:
        assert (html / page).is_file(), page
    for example in EXAMPLES:
        assert (html / "auto_examples" / f"{example.stem}.html").is_file(), example.name
    # The benchmark pages, one per topic, and the figures they show.
    for page in (DOCS / "benchmarks").glob("*.md"):
        assert (html / "benchmarks" / f"{page.stem}.html").is_file(), page.name
    assert (html / "_images" / "superdiagnostic_roc.png").is_file()
    benchmarks = (html / "benchmarks.html").read_text(encoding="utf-8")
    assert "10.13026/x4td-x982" in benchmarks
