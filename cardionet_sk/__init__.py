"""cardionet-sk: scikit-learn compatible 12-lead ECG classifiers for PTB-XL."""

from ._classifier import CardioNetClassifier
from ._constants import LEADS, PUBLISHED_THRESHOLDS, SUPERCLASSES
from ._hub import list_pretrained
from ._thresholds import ThresholdOptimizer
from ._version import __version__
from ._windowing import PTBXLWindower

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
