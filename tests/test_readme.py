"""README.md is short, and its tables and those of docs/benchmarks/ are what the scripts wrote.

``benchmarks/render_tables.py`` copies the tables of ``benchmarks/results/`` onto the pages
of ``docs/benchmarks/`` and writes the README's headline table; these tests fail when a page
or the README differs from what it writes, when a table is on no page or on two, or when a
README link leads nowhere.
"""

import importlib.util
import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from cardionet_sk import list_pretrained
from cardionet_sk.hub import EMBEDDED_DIR

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results"
GITHUB = "https://github.com/cardionet-sk/cardionet-sk/"


def load_renderer():
    spec = importlib.util.spec_from_file_location(
        "render_tables", ROOT / "benchmarks" / "render_tables.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render_tables = load_renderer()
PAGES = render_tables.pages()
WRITTEN = sorted(path.stem for path in RESULTS.glob("*.md"))


def readme():
    return README.read_text(encoding="utf-8")


def headline_rows(text):
    """The rows of the README's headline table: model name -> cells."""
    block = re.search(r"<!-- headline -->\n(.*?)<!-- /headline -->", text, flags=re.DOTALL)
    assert block, "README.md has no <!-- headline --> ... <!-- /headline --> block"
    rows = [line for line in block[1].splitlines() if line.startswith("| `")]
    return {
        re.match(r"`([^`]+)`", cells[0])[1]: cells
        for cells in ([cell.strip() for cell in row.strip("|").split("|")] for row in rows)
    }


def test_readme_is_at_most_200_lines():
    assert len(readme().splitlines()) <= 200


def test_readme_has_its_sections():
    text = readme()
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    for section in [
        "Install",
        "Quick start",
        "Embedded models",
        "Command line",
        "Documentation",
        "Citing",
        "Data and licence",
        "Not a medical device",
    ]:
        assert section in headings, section
    assert "10.13026/x4td-x982" in text and "CC BY 4.0" in text, "PTB-XL is not credited"
    assert "not a medical device" in text.lower()
    quick_start = re.search(r"## Quick start\n\n```python\n(.*?)```", text, flags=re.DOTALL)
    assert quick_start and len(quick_start[1].splitlines()) <= 10
    command_line = re.search(r"## Command line\n\n```bash\n(.*?)```", text, flags=re.DOTALL)
    assert command_line and len(command_line[1].splitlines()) == 3


def test_readme_has_one_table():
    """Every table but the headline lives on a docs page."""
    separators = re.findall(r"^\|(?: *:?-+:? *\|)+$", readme(), flags=re.MULTILINE)
    assert len(separators) == 1


def test_readme_headline_table_is_what_the_renderer_writes():
    text = readme()
    assert text == render_tables.updated_readme(text), (
        "README.md's headline table is out of date: run python benchmarks/render_tables.py"
    )


def test_headline_table_has_every_embedded_model_with_its_card_numbers():
    """One row per embedded model, whose AUC is the one its model card records."""
    rows = headline_rows(readme())
    assert sorted(rows) == sorted(list_pretrained())
    for name, cells in rows.items():
        folder = EMBEDDED_DIR / name
        config = folder / ("config.json" if (folder / "config.json").is_file() else "ensemble.json")
        config = json.loads(config.read_text(encoding="utf-8"))
        metrics = config.get("metrics") or config["card"]["metrics"]
        assert cells[2].startswith(f"{metrics['macro_auc']:.3f} ("), (name, cells[2])


def test_headline_numbers_come_from_the_superdiagnostic_table():
    """The AUC and speed of a superdiagnostic model are those of ptbxl_superdiagnostic.py."""
    table = (RESULTS / "superdiagnostic.md").read_text(encoding="utf-8")
    rows = headline_rows(readme())
    superdiagnostic = [name for name, cells in rows.items() if cells[1].startswith("superdiag")]
    assert superdiagnostic
    for name in superdiagnostic:
        row = re.search(rf"^\| {re.escape(name)} \|.*$", table, flags=re.MULTILINE)
        assert row, name
        auc, interval = re.fullmatch(r"(\S+) (\(\S+\))", rows[name][2]).groups()
        assert f"**{auc}** {interval}" in row[0], name
        assert row[0].rstrip(" |").endswith(f"| {rows[name][3]}"), name


def test_every_results_table_is_on_exactly_one_docs_page():
    assert WRITTEN, "no benchmark table has been written"
    on_pages = [name for page in PAGES for name in render_tables.page_tables(page.read_text())]
    for name in WRITTEN:
        assert on_pages.count(name) == 1, f"{name}.md is on {on_pages.count(name)} docs pages"
    assert sorted(on_pages) == WRITTEN, "a page names a table that no script has written"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_docs_page_is_what_the_renderer_writes(page):
    text = page.read_text(encoding="utf-8")
    assert render_tables.page_tables(text), f"{page.name} shows no table"
    assert text == render_tables.render_page(text, page), (
        f"docs/benchmarks/{page.name} is out of date: run python benchmarks/render_tables.py"
    )
    # Every row of its tables is there as the script wrote it.
    for name in render_tables.page_tables(text):
        rows = (RESULTS / f"{name}.md").read_text(encoding="utf-8").splitlines()
        assert [row for row in rows if row.startswith("|") and row not in text] == []


def test_renderer_rewrites_a_stale_page():
    """A block holding something else than its table is replaced, the prose kept."""
    page = render_tables.PAGES / "speed.md"
    prose = "# Speed\n\nProse.\n\n<!-- table: overhead -->\n"
    stale = prose + "old numbers\n<!-- /table: overhead -->\n"
    rendered = render_tables.render_page(stale, page)
    assert rendered != stale and "old numbers" not in rendered
    assert rendered.startswith(prose + "\n## Wrapper overhead\n")
    with pytest.raises(FileNotFoundError):
        render_tables.render_page("<!-- table: nothing -->\n<!-- /table: nothing -->\n", page)


def readme_links(text):
    """The targets of the inline links and of the link reference definitions of ``text``."""
    inline = re.findall(r"\]\(([^)\s]+)\)", text)
    return inline + re.findall(r"^\[[^\]]+\]: (\S+)$", text, flags=re.MULTILINE)


def test_readme_link_references_are_defined():
    text = readme()
    defined = set(re.findall(r"^\[([^\]]+)\]: \S+$", text, flags=re.MULTILINE))
    used = set(re.findall(r"\]\[([^\]]+)\]", text))
    assert used and used <= defined, used - defined


def test_readme_links_resolve():
    links = readme_links(readme())
    local = []
    for link in links:
        if link.startswith(GITHUB + "blob/main/") or link.startswith(GITHUB + "tree/main/"):
            local.append(unquote(link.split("/main/", 1)[1]))
        elif not link.startswith(("http://", "https://", "mailto:")):
            local.append(unquote(link.split("#")[0]))
    assert local, "the README links to no page of the repository"
    for path in local:
        assert (ROOT / path).exists(), f"README.md links to {path}, which does not exist"
    # The docs it must point to: the user guide, the changelog, each benchmark page.
    for required in ["docs/user_guide.rst", "CHANGELOG.md", "docs/benchmarks.md"]:
        assert required in local, required
    for page in PAGES:
        assert f"docs/benchmarks/{page.name}" in local, f"README.md does not link to {page.name}"


def test_benchmark_pages_are_in_the_benchmarks_toctree():
    index = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    toctree = re.search(r"```\{toctree\}\n(.*?)```", index, flags=re.DOTALL)
    assert toctree
    entries = {line.strip() for line in toctree[1].splitlines() if line.strip()[:1].isalpha()}
    assert entries == {f"benchmarks/{page.stem}" for page in PAGES}


def test_the_benchmarks_index_lists_every_script_and_make_runs_each_one():
    index = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    makefile = (ROOT / "benchmarks" / "Makefile").read_text(encoding="utf-8")
    scripts = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if p.name != "_common.py")
    assert scripts, "no benchmark script"
    for script in scripts:
        assert f"| `{script}` |" in index, f"benchmarks/README.md does not list {script}"
    measured = [s for s in scripts if s not in ("make_sample.py", "train_pretrained.py")]
    for script in measured:
        assert script in makefile, f"the Makefile never runs {script}"
