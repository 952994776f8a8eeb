"""Copy the benchmark tables of ``benchmarks/results/`` into README.md's Results section.

    python benchmarks/update_readme.py

The section between the ``<!-- results -->`` and ``<!-- /results -->`` markers
is rewritten from the tables the other scripts wrote, so the README shows
measured numbers only, each with the command and machine that produced it.
``tests/test_readme.py`` fails when the README and the tables disagree.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"

#: The tables of ``train_pretrained.py``, one per preset it trains, in README order.
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
#: Tables in README order.
TABLES = [
    "superdiagnostic",
    "ensemble-ptbxl",
    "levers",
    "calibration",
    "subgroups",
    "inference",
    "distributed_predict",
    "ptbxl_tasks",
    "thresholds",
    *PRESET_TABLES,
    "load_ptbxl",
    "overhead",
    "signal_checks",
]
MARKERS = re.compile(r"(<!-- results -->\n).*?(<!-- /results -->)", flags=re.DOTALL)


def results_section():
    """The Markdown of every table written so far, headings under README's level 2."""
    parts = []
    for name in TABLES:
        path = RESULTS / f"{name}.md"
        if path.is_file():
            text = path.read_text(encoding="utf-8").strip()
            text = re.sub(r"^(#+) ", r"##\1 ", text, flags=re.MULTILINE)
            # Relative links and images point into benchmarks/results/.
            text = re.sub(r"\]\((?!https?://|#)([^)\s]+)\)", r"](benchmarks/results/\1)", text)
            parts.append(text)
    return "\n\n".join(parts) + "\n"


def updated_readme(readme):
    if not MARKERS.search(readme):
        raise ValueError("README.md has no <!-- results --> ... <!-- /results --> section")
    return MARKERS.sub(lambda m: m[1] + "\n" + results_section() + "\n" + m[2], readme)


def main():
    README.write_text(updated_readme(README.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
