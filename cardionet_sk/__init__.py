"""cardionet-sk: scikit-learn compatible 12-lead ECG classifiers for PTB-XL."""

import importlib
from typing import TYPE_CHECKING

from ._constants import LEADS, PUBLISHED_THRESHOLDS, SUPERCLASSES
from ._version import __version__

if TYPE_CHECKING:
    from ._classifier import CardioNetClassifier
    from ._hub import list_pretrained
    from ._thresholds import ThresholdOptimizer
    from ._windowing import PTBXLWindower

# Imported on first use (PEP 562): the classifier imports TensorFlow, which takes
# seconds, and `cardionet --help` or `import cardionet_sk.datasets` need none of it.
_LAZY = {
    "CardioNetClassifier": "._classifier",
    "PTBXLWindower": "._windowing",
    "ThresholdOptimizer": "._thresholds",
    "list_pretrained": "._hub",
}

__all__ = [
    "CardioNetClassifier",
    "LEADS",
    "PTBXLWindower",
    "PUBLISHED_THRESHOLDS",
    "SUPERCLASSES",
    "ThresholdOptimizer",
    "__version__",
    "list_pretrained",
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
