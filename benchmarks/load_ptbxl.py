"""Time and memory of ``fetch_ptbxl``: first (parsing) load against cached reloads.

    python benchmarks/load_ptbxl.py                          # unpacks ../shared folds 1-9
    python benchmarks/load_ptbxl.py --data-home ~/cardionet_sk_data --folds 8 9

Each measurement runs in a fresh Python process, so that one phase's memory
high-water mark and warm imports do not leak into the next:

- ``cold``: no cache; every WFDB record is parsed and the cache written.
- ``cached``: the cache is up to date; ``fetch_ptbxl`` returns it memory-mapped.
- ``cached + copy``: the same, then ``np.array(bunch.data)`` reads every sample
  into memory, the cost of a cached load whose data is then used in full.

Two memory figures are reported, each relative to the bytes of the returned
array: the ``tracemalloc`` peak (numpy reports its buffers to tracemalloc, so
this is the peak of Python and numpy heap allocations made by the call) and the
growth of the process's ``ru_maxrss`` high-water mark across the call (resident
memory, including memory-mapped file pages that were touched). tracemalloc
slows allocation-heavy code, so times come from separate runs without it. The
records are in the OS page cache in every run (they were just unpacked or
read), so "cold" means cold for our cache, not for the disk.

By default the records are unpacked from ../shared/data/ptbxl into a temporary
data home. With ``--data-home``, the records of ``<data-home>/ptbxl`` are
linked into a temporary data home, so that its own cache is neither used nor
touched. Results go to ``benchmarks/results/load_ptbxl.md``.

Data: PTB-XL, Wagner et al. 2020, PhysioNet, https://doi.org/10.13026/x4td-x982, CC BY 4.0.
"""

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from _common import RESULTS, unpack_shared

PHASES = {"cold": False, "cached": False, "cached + copy": True}


def measure(data_home, folds, *, copy, trace):
    """One call of ``fetch_ptbxl`` in this process: seconds, memory and output size."""
    from cardionet_sk.datasets import fetch_ptbxl

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    data = fetch_ptbxl(data_home, folds=folds, download_if_missing=False).data
    if copy:
        data = np.array(data)
    seconds = time.perf_counter() - start
    traced_peak = tracemalloc.get_traced_memory()[1] if trace else None
    tracemalloc.stop()
    rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) * 1024
    return dict(
        seconds=seconds,
        traced_peak=traced_peak,
        rss_growth=rss_growth,
        nbytes=data.nbytes,
        shape=list(data.shape),
    )


def run_child(data_home, folds, phase, *, trace):
    command = [
        sys.executable,
        __file__,
        "--measure",
        phase,
        "--data-home",
        str(data_home),
        "--folds",
        *map(str, folds),
    ] + (["--trace"] if trace else [])
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def prepare_home(source_home, folds, tmp):
    """A private data home: the given records linked, or ../shared unpacked."""
    root = tmp / "ptbxl"
    if source_home is None:
        unpack_shared(root, folds)
    else:
        root.mkdir()
        for entry in (Path(source_home).expanduser() / "ptbxl").iterdir():
            if entry.name != ".cache":
                (root / entry.name).symlink_to(entry.resolve())
    return tmp


def benchmark(data_home, folds, repeats):
    cache = Path(data_home) / "ptbxl" / ".cache"
    rows = {}
    for phase in PHASES:
        runs = []
        for trace in [False] * repeats + [True]:
            if phase == "cold":
                shutil.rmtree(cache, ignore_errors=True)
            runs.append(run_child(data_home, folds, phase, trace=trace))
            print(f"  {phase:<14} {'tracemalloc' if trace else 'timed':<11} {runs[-1]}", flush=True)
        timed, traced = runs[:-1], runs[-1]
        rows[phase] = dict(
            seconds=statistics.median(r["seconds"] for r in timed),
            rss_growth=max(r["rss_growth"] for r in timed),
            traced_peak=traced["traced_peak"],
            nbytes=traced["nbytes"],
            shape=traced["shape"],
        )
    return rows


def report(rows, folds, repeats):
    cold = rows["cold"]["seconds"]
    lines = [
        "| load | time (s) | speed-up vs cold | tracemalloc peak / array | "
        "ru_maxrss growth / array |",
        "|---|---:|---:|---:|---:|",
    ]
    for phase, row in rows.items():
        lines.append(
            f"| {phase} | {row['seconds']:.3f} | {cold / row['seconds']:.0f}x | "
            f"{row['traced_peak'] / row['nbytes']:.3f} | {row['rss_growth'] / row['nbytes']:.3f} |"
        )
    shape = rows["cold"]["shape"]
    header = [
        "# fetch_ptbxl load benchmark",
        "",
        f"PTB-XL v1.0.1, 100 Hz, folds {folds}: array {tuple(shape)} float32, "
        f"{rows['cold']['nbytes'] / 2**20:.0f} MiB. Median of {repeats} timed runs per load, "
        "each in a fresh process; memory from one more run under tracemalloc.",
        "",
        f"Generated by `benchmarks/load_ptbxl.py` on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.platform()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs.",
        "",
    ]
    footer = [
        "",
        "- *tracemalloc peak*: peak of the heap allocations (Python objects and numpy buffers) "
        "made during the call.",
        "- *ru_maxrss growth*: growth of the process's resident-memory high-water mark during "
        "the call; it also counts the pages of the memory-mapped cache that the call touched.",
        "- The cached load returns the memory-mapped cache, so it reads no sample; "
        "`cached + copy` adds `np.array(...)`, which reads them all.",
        "- The records are in the OS page cache in every run: 'cold' is cold for the "
        "package's cache, not for the disk.",
        "",
        "Data: PTB-XL, Wagner et al. 2020, PhysioNet, https://doi.org/10.13026/x4td-x982, "
        "CC BY 4.0.",
    ]
    return "\n".join(header + lines + footer) + "\n"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-home", type=Path, help="a data home holding ptbxl/")
    parser.add_argument("--folds", type=int, nargs="+", default=list(range(1, 10)))
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per load")
    parser.add_argument(
        "--out", type=Path, default=RESULTS / "load_ptbxl.md", help="default: %(default)s"
    )
    parser.add_argument("--measure", choices=list(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        print(
            json.dumps(
                measure(args.data_home, args.folds, copy=PHASES[args.measure], trace=args.trace)
            )
        )
        return
    with tempfile.TemporaryDirectory(prefix="load_ptbxl_") as tmp:
        home = prepare_home(args.data_home, args.folds, Path(tmp))
        rows = benchmark(home, args.folds, args.repeats)
    text = report(rows, args.folds, args.repeats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
