"""Sphinx configuration of the cardionet-sk documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html``; add
``-D plot_gallery=0`` to skip running the gallery examples.
"""

import builtins
import logging
import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS))  # _gallery_order, _gallery_figures
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import cardionet_sk  # noqa: E402

# The gallery runs in this process: keep TensorFlow's retracing notices out of the build log.
logging.getLogger("tensorflow").setLevel(logging.ERROR)

# -- Project -------------------------------------------------------------------------------

project = "cardionet-sk"
author = "cardionet-sk developers"
copyright = "cardionet-sk developers. PTB-XL data: Wagner et al. 2020, CC BY 4.0"
release = cardionet_sk.__version__
version = ".".join(release.split(".")[:2])
GITHUB = "https://github.com/cardionet-sk/cardionet-sk"

# -- Extensions ----------------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/_md/*", "Thumbs.db", ".DS_Store"]
default_role = "literal"
# Every cross-reference must resolve: `-n -W` turns a broken one into an error.
nitpicky = True

# autodoc / autosummary: one page per public object, written to docs/generated/.
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"
add_module_names = False
toc_object_entries_show_parents = "hide"

# numpydoc: the class template lists the methods, so numpydoc does not.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# myst: GitHub-flavoured tables in the included Markdown files.
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# -- Gallery -------------------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "_gallery_order.ExampleOrder",
    "doc_module": ("cardionet_sk",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"cardionet_sk": None},
    "image_scrapers": ("matplotlib",),
    # matplotlib's defaults, then figures saved at 200 dpi (_gallery_figures.py)
    "reset_modules": ("matplotlib", "_gallery_figures.hidpi"),
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
    "download_all_examples": False,
    "write_computation_times": True,
}

# -- HTML ----------------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"cardionet-sk {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False
html_theme_options = {
    "github_url": GITHUB,
    "navbar_align": "left",
    "header_links_before_dropdown": 8,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "announcement": (
        "Research software: cardionet-sk is <strong>not a medical device</strong> and must not "
        "be used for diagnosis."
    ),
}
html_context = {"default_mode": "light"}
# Pages without sub-pages need no section navigation on the left.
html_sidebars = {page: [] for page in ["index", "install", "quick_start", "citing", "changelog"]}

# -- Markdown files from outside docs/ -----------------------------------------------------

MD_OUT = DOCS / "generated" / "_md"
_LINK = re.compile(r"(\]\()(?!https?://|mailto:|#)([^)\s]+)(\))")


def _github_links(text, base):
    """Relative Markdown links of a file outside docs/ made absolute GitHub links."""
    return _LINK.sub(lambda m: f"{m[1]}{GITHUB}/blob/main/{base}{m[2]}{m[3]}", text)


def _write_if_changed(path, text):
    """Write only on change, so an incremental build does not re-read unchanged pages."""
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def write_markdown_includes(app=None):
    """Copy CHANGELOG.md into docs/generated/_md/, its relative links made GitHub links.

    The benchmark pages (docs/benchmarks/) need no copy: benchmarks/render_tables.py writes
    the tables of benchmarks/results/ into them, and tests/test_readme.py keeps them equal.
    """
    MD_OUT.mkdir(parents=True, exist_ok=True)
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    _write_if_changed(MD_OUT / "CHANGELOG.md", _github_links(changelog, ""))


def write_constants():
    """The public constants as ``.. data::`` entries, documented by their ``#:`` comments."""
    from sphinx.pycode import ModuleAnalyzer

    analyzer = ModuleAnalyzer.for_module("cardionet_sk._constants")
    analyzer.analyze()
    lines = [".. currentmodule:: cardionet_sk", ""]
    for (_, name), doc in analyzer.attr_docs.items():
        if name in cardionet_sk.__all__:
            lines += [f".. data:: {name}", f"   :value: {getattr(cardionet_sk, name)!r}", ""]
            lines += [f"   {line}" if line else "" for line in doc]
    _write_if_changed(MD_OUT / "constants.rst", "\n".join(lines) + "\n")


def write_cli_help():
    """``cardionet --help`` and the help of each of its commands, as the installed CLI prints it."""
    import contextlib
    import io

    from cardionet_sk._cli import main

    def help_of(argv):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            main(argv)
        return out.getvalue().rstrip()

    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"
    try:
        top = help_of(["--help"])
        listed = top.split("COMMAND", 2)[-1].split("\n\n")[0]
        commands = re.findall(r"^ {4}([a-z][\w-]*)", listed, flags=re.M)
        parts = [f"$ cardionet --help\n{top}"]
        parts += [f"$ cardionet {c} --help\n{help_of([c, '--help'])}" for c in commands]
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    _write_if_changed(MD_OUT / "cli.txt", "\n\n".join(parts) + "\n")


# -- Links to other projects' documentation -------------------------------------------------
#
# Intersphinx downloads each project's inventory (objects.inv) at build time. Keras and
# huggingface_hub publish none (their sites are not built with Sphinx), and TensorFlow's
# comes from the GPflow project, so their names are never checked (nitpick_ignore_regex).
#
# Offline (CARDIONET_DOCS_OFFLINE=1, as tests/test_docs.py sets it, or no route to
# docs.python.org), a failed download would be a warning, hence an error under -W: the
# extension is then dropped, and only the other projects' names are exempt from the nitpicky
# check; our own references are checked all the same. resolve_external below still links
# scikit-learn names and terms, which need no inventory.

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "scipy": ("https://docs.scipy.org/doc/scipy/", None),
    "sklearn": ("https://scikit-learn.org/stable/", None),
    "pandas": ("https://pandas.pydata.org/docs/", None),
    "tensorflow": (
        "https://www.tensorflow.org/api_docs/python",
        "https://raw.githubusercontent.com/GPflow/tensorflow-intersphinx/master/tf2_py_objects.inv",
    ),
    "joblib": ("https://joblib.readthedocs.io/en/stable/", None),
    "dask": ("https://docs.dask.org/en/stable/", None),
    "distributed": ("https://distributed.dask.org/en/stable/", None),
}
intersphinx_timeout = 10

#: Names of projects without an inventory, never checked.
_NO_INVENTORY = r"(keras|huggingface_hub|scikeras|wfdb|tf\.keras)(\..*)?"
#: Names of the mapped projects, exempt from the check when their inventories are missing.
_MAPPED = r"(numpy|np|scipy|sklearn|pandas|pd|joblib|tensorflow|tf|dask|distributed|pyarrow)(\..*)?"
#: Python's own names (builtins, exceptions, standard modules), in Python's inventory.
_BUILTINS = "|".join(
    [name for name in dir(builtins) if not name.startswith("_")]
    + [r"(os|pathlib|collections|warnings|random|typing|io|json|csv)(\..*)?", "callable"]
)


def _offline():
    """True when the inventories cannot be downloaded (see the comment above)."""
    setting = os.environ.get("CARDIONET_DOCS_OFFLINE")
    if setting is not None:
        return setting not in ("", "0")
    import socket

    try:
        socket.create_connection(("docs.python.org", 443), timeout=3).close()
    except OSError:
        return True
    return False


OFFLINE = _offline()
nitpick_ignore_regex = [(r"py:.*", _NO_INVENTORY)]
if OFFLINE:
    extensions.remove("sphinx.ext.intersphinx")
    nitpick_ignore_regex += [(r"py:.*", _MAPPED), (r"py:.*", _BUILTINS)]

SKLEARN = "https://scikit-learn.org/stable/"
_SKLEARN_TERMS = {"random_state", "n_jobs", "fit", "predict", "cross-validation estimator"}
_SKLEARN_REFS = {
    "metadata_routing": "metadata_routing.html",
    "accuracy_score": "modules/model_evaluation.html#accuracy-score",
}


def resolve_external(app, env, node, contnode):
    """Link unresolved scikit-learn names, glossary terms and labels to scikit-learn's site."""
    from docutils import nodes

    target = node.get("reftarget", "")
    domain, reftype = node.get("refdomain"), node.get("reftype")
    url = None
    if domain == "py" and target.startswith("sklearn.") and reftype in {"class", "func", "obj"}:
        url = f"{SKLEARN}modules/generated/{target}.html"
    elif domain == "std" and reftype == "term" and target.lower() in _SKLEARN_TERMS:
        url = f"{SKLEARN}glossary.html#term-{target.lower().replace('_', '-').replace(' ', '-')}"
    elif domain == "std" and reftype == "ref" and target in _SKLEARN_REFS:
        url = SKLEARN + _SKLEARN_REFS[target]
    if url is None:
        return None
    ref = nodes.reference(
        "", "", internal=False, refuri=url, reftitle=f"(in scikit-learn) {target}"
    )
    ref.append(contnode)
    return ref


def setup(app):
    write_markdown_includes()
    write_constants()
    write_cli_help()
    app.connect("missing-reference", resolve_external)
