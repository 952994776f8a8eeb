"""False alarms and detections of ``check_signal_quality`` on real PTB-XL records.

    python benchmarks/signal_checks_ptbxl.py [--data-home DIR] [--folds 1 2 ... 9]

False alarms: the checks run on every unmodified 100 Hz record of the folds
(default 1-9, unpacked from ../shared/data/ptbxl); each check should find
nothing, and any record it flags is listed with PTB-XL's notes on its
electrodes and noise, to tell a truly broken record from a false alarm.

Detections: the same checks on the records of the last fold broken in the
ways the checks look for (microvolts, ADC counts at 200 per mV, a flat lead,
lead II clipped at its 90th percentile, and 2 s excerpts at 500 Hz, resampled
from the records, presented as 10 s at 100 Hz). Also on the 500 Hz excerpts
at their true rate, which must not fire.

Writes ``benchmarks/results/signal_checks.md``.

Data: PTB-XL, Wagner et al. 2020, PhysioNet, https://doi.org/10.13026/x4td-x982, CC BY 4.0.
"""

import argparse
import time
from collections import Counter

import numpy as np
from scipy.signal import resample_poly

from cardionet_sk import check_signal_quality
from cardionet_sk._signal_checks import KINDS
from cardionet_sk.datasets import fetch_ptbxl

from _common import RESULTS, machine, ptbxl_data_home


def broken_copies(X):
    """The records of ``X`` broken in each way a check looks for, with their sampling rate."""
    clipped = X.copy()
    rail = np.percentile(X[:, :, 1], 90, axis=1, keepdims=True)
    clipped[:, :, 1] = np.minimum(X[:, :, 1], rail)
    flat = X.copy()
    flat[:, :, 8] = 0.0
    excerpts = resample_poly(X, 5, 1, axis=1)[:, : X.shape[1]].astype(np.float32)
    return {
        "microvolts (x1000)": (X * 1000, 100, "amplitude"),
        "ADC counts (x200)": (X * 200, 100, "amplitude"),
        "V3 flat (zeros)": (flat, 100, "flat"),
        "II clipped at its 90th percentile": (clipped, 100, "clipped"),
        "2 s at 500 Hz read as 100 Hz": (excerpts, 100, "heart_rate"),
        "2 s at 500 Hz, at 500 Hz": (excerpts, 500, None),
    }


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--folds", type=int, nargs="+", default=list(range(1, 10)))
    args = parser.parse_args()
    home = ptbxl_data_home(args.data_home, args.folds)
    rows, flagged, seconds, n_total = [], [], 0.0, 0
    for fold in args.folds:
        bunch = fetch_ptbxl(home, folds=[fold], download_if_missing=False)
        X = np.asarray(bunch.data)
        start = time.perf_counter()
        problems = check_signal_quality(X, bunch.sampling_rate)
        seconds += time.perf_counter() - start
        n_total += len(X)
        counts = Counter(p.kind for p in problems)
        rows.append(f"| {fold} | {len(X)} | " + " | ".join(str(counts[k]) for k in KINDS) + " |")
        # PTB-XL's own notes on the recording, to tell a true problem from a false alarm.
        notes = bunch.frame[["electrodes_problems", "static_noise", "burst_noise"]]
        flagged += [
            (fold, int(bunch.ecg_id[p.record]), p.kind, p.message, notes.iloc[p.record].dropna())
            for p in problems
        ]
        print(f"fold {fold}: {len(X)} records, {dict(counts)}", flush=True)
    detections = []
    for name, (broken, rate, kind) in broken_copies(X).items():
        found = {p.record for p in check_signal_quality(broken, rate) if p.kind == kind}
        records = len({p.record for p in check_signal_quality(broken, rate)})
        detections.append(
            f"| {name} | {rate} | {kind or 'none'} | "
            + (f"{len(found)} / {len(X)} |" if kind else f"{records} flagged / {len(X)} |")
        )
    lines = [
        "# Signal sanity checks on PTB-XL",
        "",
        f"`python benchmarks/signal_checks_ptbxl.py --folds {' '.join(map(str, args.folds))}` "
        f"on {machine()}. `check_signal_quality` took {seconds:.1f} s for the "
        f"{n_total} records ({1e3 * seconds / n_total:.2f} ms per record).",
        "",
        "## False alarms: records flagged among the real, unmodified 100 Hz records",
        "",
        "| fold | records | " + " | ".join(KINDS) + " |",
        "|---" * (len(KINDS) + 2) + "|",
        *rows,
        "",
        *(
            [
                f"- fold {f}, ecg_id {e}: {k}: {m}. PTB-XL notes: "
                + (", ".join(f"{c} '{v}'" for c, v in n.items()) or "none")
                for f, e, k, m, n in flagged
            ]
            or ["No real record is flagged."]
        ),
        "",
        f"## Detections: the {len(X)} records of fold {args.folds[-1]}, broken",
        "",
        "| records | checked at (Hz) | expected problem | records found |",
        "|---|---|---|---|",
        *detections,
        "",
    ]
    (RESULTS / "signal_checks.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
