"""Regenerate the PTB-XL sample bundled with ``cardionet_sk.datasets.load_sample``.

    python benchmarks/make_sample.py                        # unpacks ../shared/data/ptbxl
    python benchmarks/make_sample.py --data-home /tmp/ptbxl # reuses an unpacked copy

Records are drawn from folds 1-9 with a fixed seed: for each superclass in turn,
``--per-class`` records having it that are not yet drawn, then ``--unlabelled``
records having none. The signals are stored as their raw int16 ADC values with
the header calibration, in an npz whose bytes do not depend on when it is
written, so rerunning this script leaves the files unchanged.

Data: PTB-XL, Wagner et al. 2020, PhysioNet, https://doi.org/10.13026/x4td-x982, CC BY 4.0.
"""

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from cardionet_sk._constants import LEADS, SUPERCLASSES
from cardionet_sk.datasets._ptbxl import _read_metadata, _superclass_target
from cardionet_sk.datasets._records import (
    _calibration,
    _digital_to_millivolts,
    _physical,
    _read_digital,
)
from cardionet_sk.datasets._sample import SAMPLE_METADATA, SAMPLE_SIGNALS

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "ptbxl"
OUT = REPO / "cardionet_sk" / "datasets" / "data"
METADATA_COLUMNS = ["patient_id", "age", "sex", "strat_fold", "scp_codes"]


def draw(target, ecg_ids, *, per_class, unlabelled, seed):
    """The drawn ecg_ids, sorted."""
    rng = np.random.default_rng(seed)
    drawn = np.zeros(len(ecg_ids), dtype=bool)
    pools = [target[:, j] == 1 for j in range(target.shape[1])]
    pools.append(target.sum(axis=1) == 0)
    for pool, count in zip(pools, [per_class] * target.shape[1] + [unlabelled]):
        candidates = np.flatnonzero(pool & ~drawn)
        drawn[rng.choice(candidates, size=count, replace=False)] = True
    return ecg_ids[drawn]


def write_npz(path, arrays):
    """Like ``np.savez_compressed``, with fixed member timestamps for reproducible bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as f:
                np.lib.format.write_array(f, np.ascontiguousarray(array), allow_pickle=False)


def read_signals(root, filenames):
    n = len(filenames)
    digital = np.empty((n, 1000, len(LEADS)), dtype=np.int16)
    baseline = np.empty((n, len(LEADS)), dtype=np.int16)
    adc_gain = np.empty((n, len(LEADS)), dtype=np.float64)
    scale = np.empty((n, len(LEADS)), dtype=np.float64)
    for i, filename in enumerate(filenames):
        record, name = _read_digital(root / filename)
        if tuple(record.sig_name) != LEADS or record.fs != 100 or record.sig_len != 1000:
            raise SystemExit(f"{name}: not a 10 s, 100 Hz record with the 12 PTB-XL leads")
        calibration = _calibration(record, name)
        converted = _digital_to_millivolts(record.d_signal, *calibration)
        if not np.array_equal(converted, _physical(record, name)):
            raise SystemExit(f"{name}: digital to millivolt conversion disagrees with wfdb")
        digital[i] = record.d_signal
        baseline[i], adc_gain[i], scale[i] = calibration
    return dict(digital=digital, baseline=baseline, adc_gain=adc_gain, scale=scale)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=SHARED, help="default: %(default)s")
    parser.add_argument(
        "--data-home",
        type=Path,
        help="an unpacked PTB-XL layout to read instead of unpacking --shared",
    )
    parser.add_argument("--out", type=Path, default=OUT, help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-class", type=int, default=10)
    parser.add_argument("--unlabelled", type=int, default=2)
    args = parser.parse_args()

    database, statements = _read_metadata(args.data_home or args.shared)
    target = _superclass_target(database["scp_codes"], statements)
    chosen = draw(
        target,
        database.index.to_numpy(),
        per_class=args.per_class,
        unlabelled=args.unlabelled,
        seed=args.seed,
    )
    rows = database.index.get_indexer(chosen)
    metadata = database.loc[chosen, METADATA_COLUMNS].astype({"patient_id": np.int64})

    with tempfile.TemporaryDirectory() as tmp:
        root = args.data_home
        if root is None:
            root = Path(tmp)
            folds = ",".join(str(f) for f in sorted(set(metadata["strat_fold"])))
            subprocess.run(
                [sys.executable, str(args.shared / "unpack.py"), tmp, "--folds", folds],
                check=True,
            )
        arrays = read_signals(root, database.loc[chosen, "filename_lr"])

    arrays["target"] = target[rows].astype(np.uint8)
    args.out.mkdir(parents=True, exist_ok=True)
    write_npz(args.out / SAMPLE_SIGNALS, arrays)
    metadata.to_csv(args.out / SAMPLE_METADATA, lineterminator="\n")

    counts = dict(zip(SUPERCLASSES, arrays["target"].sum(axis=0).tolist()))
    size = sum((args.out / f).stat().st_size for f in (SAMPLE_SIGNALS, SAMPLE_METADATA))
    print(
        f"{len(chosen)} records, folds {sorted(set(metadata['strat_fold']))}, {counts}, "
        f"{(arrays['target'].sum(axis=1) == 0).sum()} unlabelled, {size / 1e6:.2f} MB"
    )


if __name__ == "__main__":
    main()
