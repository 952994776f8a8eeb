"""What every benchmark script shares: where results go, the PTB-XL data home, the machine,
progress lines of long trainings."""

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from cardionet_sk import apply_thresholds, tune_thresholds

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "ptbxl"
RESULTS = ROOT / "benchmarks" / "results"


def unpack_shared(destination, folds=None):
    """Rebuild the official PhysioNet layout of ``../shared`` folds in ``destination``."""
    command = [sys.executable, str(SHARED / "unpack.py"), str(destination)]
    if folds is not None:
        command += ["--folds", ",".join(map(str, folds))]
    subprocess.run(command, check=True, capture_output=True)


def ptbxl_data_home(data_home, folds=None):
    """``data_home``, or a temporary one holding the ``../shared`` records of ``folds``."""
    if data_home is not None:
        return Path(data_home)
    data_home = Path(tempfile.mkdtemp(prefix="ptbxl-"))
    unpack_shared(data_home / "ptbxl", folds)
    return data_home


def machine():
    """One line naming the CPU, its cores and the accelerator, written next to every number."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(line for line in cpuinfo if line.startswith("model name"))
        cpu = cpu.split(":", 1)[1].strip()
    except (OSError, StopIteration):
        pass
    import tensorflow as tf

    gpus = [device.name for device in tf.config.list_physical_devices("GPU")]
    accelerator = ", ".join(gpus) if gpus else "no GPU"
    return f"{cpu}, {len(os.sched_getaffinity(0))} CPU cores, {accelerator}, {platform.system()}"


def command_line(script, argv):
    """The command that ran ``script`` with ``argv``, as a results file records it: the
    folders given to ``--data-home`` and ``--records`` are this machine's, so they are
    written ``DIR``."""
    words, hidden = [], False
    for word in argv:
        words.append("DIR" if hidden else word)
        hidden = word in ("--data-home", "--records")
    return " ".join(["python", f"benchmarks/{script}", *words])


def provenance(command):
    """What a results JSON records of the run that wrote it: the command, the git commit
    (and whether the working tree differed from it), the package version, the machine and
    the date."""
    from datetime import datetime, timezone

    import cardionet_sk

    def git(*args):
        try:
            run = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        except OSError:
            return None
        return run.stdout.strip() if run.returncode == 0 else None

    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "command": command,
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": None if status is None else bool(status),
        "cardionet_sk_version": cardionet_sk.__version__,
        "machine": machine(),
        "date": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
    }


def superdiagnostic_models(*, ensembles=False):
    """The embedded models of the five superclasses, which these benchmarks measure.

    Models of other labels (the all-statements model of ``ptbxl_tasks.py``) are scored
    against their own labels by the script that trains them. Ensembles
    (``build_ensemble.py``) are left out unless ``ensembles``: their members are
    calibrated and exported one by one.
    """
    from cardionet_sk import list_pretrained

    return [
        m["name"]
        for m in list_pretrained(details=True)
        if m["task"] == "superdiagnostic" and (ensembles or m["architecture"] != "ensemble")
    ]


def bootstrap(statistic, n_records, n_resamples=1000, seed=0):
    """95 % percentile interval of ``statistic(rows)`` over resamples of the records."""
    rng = np.random.default_rng(seed)
    values = [statistic(rng.integers(0, n_records, n_records)) for _ in range(n_resamples)]
    # NaN: a resample the statistic is undefined on (a class with one value), left out.
    return [float(v) for v in np.nanpercentile(values, [2.5, 97.5])]


def macro_auc(y, proba, *, present_classes=False):
    """Macro ROC AUC: the one definition of the benchmarks.

    Over every class, NaN when a class has a single value among these records (a bootstrap
    resample the interval leaves out); with ``present_classes``, over the classes that have
    both values (the PTB-XL benchmark's rule for tasks with statements rare on fold 9).
    """
    counts = y.sum(axis=0)
    scored = (counts > 0) & (counts < len(y))
    if present_classes:
        return float(roc_auc_score(y[:, scored], proba[:, scored], average="macro"))
    if not scored.all():
        return np.nan
    return float(roc_auc_score(y, proba, average="macro"))


def paired_difference(y, proba, reference, n_bootstrap=1000):
    """Macro AUC of ``proba`` minus that of ``reference`` on the same records, with the 95 %
    interval of the paired bootstrap (the same resampled records for both)."""

    def difference(records):
        return macro_auc(y[records], proba[records]) - macro_auc(y[records], reference[records])

    return difference(np.arange(len(y))), bootstrap(difference, len(y), n_bootstrap)


def cross_fitted_predictions(proba, y, groups, **settings):
    """Labels of each half of the records, with thresholds tuned on the other half.

    The records are split in two by ``groups`` (patients), so that no decision
    depends on its own label or on another record of the same patient:
    an honest F1 for thresholds tuned on data like the reported data.
    ``settings`` go to ``tune_thresholds``. Returns the 0/1 predictions and the
    mean of the two halves' thresholds.
    """
    predicted, thresholds = np.zeros_like(y), []
    for tune, report in GroupKFold(2, shuffle=True, random_state=0).split(proba, y, groups):
        half_thresholds, _ = tune_thresholds(y[tune], proba[tune], **settings)
        predicted[report] = apply_thresholds(proba[report], half_thresholds)
        thresholds.append(half_thresholds)
    return predicted, np.mean(thresholds, axis=0)


class EpochClock(keras.callbacks.Callback):
    """Seconds since training began at the end of every epoch, and progress lines."""

    def __init__(self, name):
        super().__init__()
        self.name, self.times = name, []

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter() - (self.times[-1] if self.times else 0.0)

    def on_epoch_end(self, epoch, logs=None):
        # The user's callbacks run before the classifier's: val_macro_auc is not in the logs
        # yet, val_loss (Keras' own) is, when records are held out.
        self.times.append(time.perf_counter() - self.start)
        logs = logs or {}
        losses = ", ".join(
            f"{key.replace('_', ' ')} {logs[key]:.4f}"
            for key in ("loss", "val_loss")
            if key in logs
        )
        print(
            f"{self.name}: epoch {epoch + 1}, {self.times[-1] / 60:.1f} min, {losses}", flush=True
        )
