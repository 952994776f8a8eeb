"""Copy the benchmark tables of ``benchmarks/results/`` into the docs, and the README's headline.

    python benchmarks/render_tables.py

The benchmark scripts write their tables to ``benchmarks/results/NAME.md``; this script is
the only one that copies them anywhere, so that every number shown was measured. It
rewrites two things in place:

* the pages of ``docs/benchmarks/``, prose written by hand around blocks

      <!-- table: NAME -->
      <!-- /table: NAME -->

  whose contents become ``benchmarks/results/NAME.md``: its headings one level below the
  last heading written by hand above the block, its figure (``FIGURES``) after it, its
  images pointed at ``benchmarks/results/`` and its other relative links made GitHub links;
* the README's headline table, between ``<!-- headline -->`` and ``<!-- /headline -->``:
  one row per embedded model (``list_pretrained()``), its fold-9 macro AUC with the 95 %
  interval and its speed as ``superdiagnostic.json`` (``ptbxl_superdiagnostic.py``) or, for
  a model of another task, ``ptbxl_tasks.json`` (the run its ``config.json`` names) records
  them, and the size of its folder in the package (an ensemble's with its members').

``tests/test_readme.py`` fails when a page or the README differs from what this script
writes, or when a table of ``benchmarks/results/`` is on no page, or on two.
"""

import json
import os
import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
PAGES = ROOT / "docs" / "benchmarks"
GITHUB = "https://github.com/cardionet-sk/cardionet-sk"

#: The tables of ``train_pretrained.py``, one per preset it trains.
PRESET_TABLES = [
    "cardionet-ptbxl",
    "cardionet-ptbxl-onecycle",
    "resnet1d-wang-ptbxl",
    "resnet1d-wang-ptbxl-5s",
    "resnet1d-wang-ptbxl-5s-ema",
    "resnet1d-wang-ptbxl-long",
    "resnet1d-wang-ptbxl-ema",
    "resnet1d-wang-ptbxl-50ep-ema",
    "xresnet1d50-ptbxl",
    "xresnet1d50-ptbxl-ema",
    "xresnet1d101-ptbxl-ema",
    "inception1d-ptbxl",
    "inception1d-ptbxl-long",
    "inception1d-ptbxl-ema",
]
#: Figures written next to a table, shown after it: name -> (file, alternative text).
FIGURES = {
    "superdiagnostic": (
        "superdiagnostic_roc.png",
        "ROC curves of the embedded superdiagnostic models on PTB-XL fold 9, one panel a class",
    )
}

BLOCK = re.compile(
    r"^<!-- table: (?P<name>[\w.-]+) -->\n(?P<body>.*?)^<!-- /table: (?P=name) -->$",
    flags=re.MULTILINE | re.DOTALL,
)
HEADLINE = re.compile(r"(<!-- headline -->\n).*?(<!-- /headline -->)", flags=re.DOTALL)
_LINK = re.compile(r"(!?)\[([^\]]*)\]\((?!https?://|mailto:|#)([^)\s]+)\)")
_HEADING = re.compile(r"^(#{1,6}) ")


# -- Docs pages --------------------------------------------------------------------------


def _outside_fences(text):
    """Each line of ``text`` with whether it lies outside a fenced code block."""
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            yield line, False
        else:
            yield line, not fenced


def _demote_headings(text, level):
    """Headings moved down so that the file's title (``#``) is at ``level``."""
    return "\n".join(
        "#" * (level - 1) + line if outside and _HEADING.match(line) else line
        for line, outside in _outside_fences(text)
    )


def _last_heading_level(text, default):
    """The level of the last heading of ``text`` (outside code), else ``default``."""
    headings = [_HEADING.match(line) for line, outside in _outside_fences(text) if outside]
    levels = [len(heading[1]) for heading in headings if heading]
    return levels[-1] if levels else default


def _links(text, page_dir):
    """Images pointed at ``benchmarks/results/`` from ``page_dir``; other links to GitHub."""
    results = Path(os.path.relpath(RESULTS, page_dir)).as_posix()

    def link(m):
        image, label, target = m[1], m[2], m[3]
        if image:
            return f"![{label}]({results}/{target})"
        return f"[{label}]({GITHUB}/blob/main/benchmarks/results/{target})"

    return _LINK.sub(link, text)


def table_markdown(name, level, page_dir):
    """``benchmarks/results/{name}.md`` as shown on a page of ``page_dir``, title at ``level``."""
    source = RESULTS / f"{name}.md"
    if not source.is_file():
        raise FileNotFoundError(
            f"{source.relative_to(ROOT)} does not exist: run the benchmark script that writes "
            "it, or take its block off the page"
        )
    text = _demote_headings(_links(source.read_text(encoding="utf-8").strip(), page_dir), level)
    if name in FIGURES:
        figure, alt = FIGURES[name]
        if (RESULTS / figure).is_file():
            text += "\n\n" + _links(f"![{alt}]({figure})", page_dir)
    return text + "\n"


def render_page(text, page):
    """The page ``text`` (of the file ``page``) with every table block rewritten."""
    out, start, level = [], 0, 1
    for block in BLOCK.finditer(text):
        prose = text[start : block.start()]
        level = _last_heading_level(prose, level)
        name = block["name"]
        table = table_markdown(name, level + 1, Path(page).parent)
        out += [prose, f"<!-- table: {name} -->\n\n{table}\n<!-- /table: {name} -->"]
        start = block.end()
    return "".join(out) + text[start:]


def page_tables(text):
    """The names of the tables whose blocks are on the page ``text``."""
    return [block["name"] for block in BLOCK.finditer(text)]


def pages():
    """The Markdown pages of ``docs/benchmarks/``."""
    return sorted(PAGES.glob("*.md"))


# -- The README's headline table ---------------------------------------------------------


def _read_json(name):
    return json.loads((RESULTS / name).read_text(encoding="utf-8"))


def _files(folder):
    return {path for path in folder.rglob("*") if path.is_file()}


def _model_size(folder):
    """The size of a model folder; an ensemble's with the embedded members it refers to."""
    from cardionet_sk.hub import is_ensemble_folder, read_ensemble_config

    files = _files(folder)
    members = read_ensemble_config(folder).members if is_ensemble_folder(folder) else ()
    for member in members:
        if member.embedded:
            files |= _files(folder.parent / member.name)
    size = f"{sum(path.stat().st_size for path in files) / 2**20:.1f} MiB"
    return f"{size} with its {len(members)} members" if members else size


def _auc_cell(auc, interval):
    return f"{auc:.3f} ({interval[0]:.3f}-{interval[1]:.3f})"


def _task_run(folder):
    """The ``ptbxl_tasks.py`` run an embedded model of another task was made from."""
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    named = re.search(r"ptbxl_tasks\.py --runs (\S+?)`", config.get("training") or "")
    runs = _read_json("ptbxl_tasks.json")["runs"]
    if named is None or named[1] not in runs:
        raise ValueError(f"{folder.name}: its config.json names no run of ptbxl_tasks.json")
    return named[1], runs[named[1]]


def headline_table():
    """The README's table of the embedded models, with the commands and machines behind it."""
    from cardionet_sk import list_pretrained
    from cardionet_sk.hub import EMBEDDED_DIR

    superdiagnostic = _read_json("superdiagnostic.json")
    measured = superdiagnostic["models"]
    default = superdiagnostic["default_model"]
    rows, others = [], []
    for model in list_pretrained(details=True):
        name, task = model["name"], model["task"]
        folder = EMBEDDED_DIR / name
        label = f"`{name}`" + (" (default)" if name == default else "")
        if task == "superdiagnostic":
            if name not in measured:
                raise KeyError(
                    f"{name} is not in superdiagnostic.json: run ptbxl_superdiagnostic.py"
                )
            result = measured[name]
            auc = result["macro_auc"]
            cells = [_auc_cell(auc, result["macro_auc_95ci"]), f"{result['ecg_per_second']:.0f}"]
        else:
            run, result = _task_run(folder)
            auc = result["fold9_macro_auc"]
            cells = [_auc_cell(auc, result["fold9_macro_auc_95ci"]), "not measured"]
            others.append(
                f"`{name}`: `python benchmarks/ptbxl_tasks.py --runs {run}` on "
                f"{result['machine']}, macro AUC over its {result['classes']} statements on the "
                f"{result['fold9_records']} fold-9 records that have one."
            )
        cells = [label, f"{task} ({model['n_classes']} classes)", *cells, _model_size(folder)]
        rows.append((task != "superdiagnostic", -auc, cells))
    lines = [
        "| model | task | fold-9 macro AUC (95 % CI) | ECG/s | size on disk |",
        "|---|---|---|---:|---:|",
    ] + ["| " + " | ".join(cells) + " |" for *_, cells in sorted(rows)]
    notes = [
        "Trained on PTB-XL folds 1-8, scored on fold 9 (fold 10, the benchmark's test fold, is "
        "not used). Superdiagnostic models: `python benchmarks/ptbxl_superdiagnostic.py` on "
        f"{superdiagnostic['machine']}, macro AUC over the five superclasses with its 95 % "
        "bootstrap interval, and ECG/s of `predict_proba` as shipped, all models in one run.",
        *others,
        "Size: the model's folder in the package. Written by `python benchmarks/render_tables.py`.",
    ]
    notes = [
        textwrap.fill(note, 100, break_long_words=False, break_on_hyphens=False) for note in notes
    ]
    return "\n".join(lines) + "\n\n" + "\n\n".join(notes) + "\n"


def updated_readme(readme):
    """``readme`` with its headline table rewritten."""
    if not HEADLINE.search(readme):
        raise ValueError("README.md has no <!-- headline --> ... <!-- /headline --> section")
    return HEADLINE.sub(lambda m: m[1] + "\n" + headline_table() + "\n" + m[2], readme)


def main():
    for page in pages():
        text = page.read_text(encoding="utf-8")
        page.write_text(render_page(text, page), encoding="utf-8")
    README.write_text(updated_readme(README.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
