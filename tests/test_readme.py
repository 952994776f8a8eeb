"""README.md's Results section is what the benchmark scripts wrote."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_update_readme():
    spec = importlib.util.spec_from_file_location(
        "update_readme", ROOT / "benchmarks" / "update_readme.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_results_section_matches_the_benchmark_tables():
    update_readme = load_update_readme()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == update_readme.updated_readme(readme), (
        "README.md's Results section is out of date: run python benchmarks/update_readme.py"
    )


def test_every_written_table_is_in_the_readme():
    update_readme = load_update_readme()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    written = sorted(path.stem for path in (ROOT / "benchmarks" / "results").glob("*.md"))
    assert written, "no benchmark table has been written"
    assert set(written) <= set(update_readme.TABLES)
    for name in written:
        title = (ROOT / "benchmarks" / "results" / f"{name}.md").read_text().splitlines()[0]
        assert "##" + title in readme
