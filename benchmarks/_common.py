"""What every benchmark script shares: where results go, the PTB-XL data home, the machine."""

import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

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
