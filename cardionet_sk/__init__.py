"""cardionet-sk: scikit-learn compatible 12-lead ECG classifiers for PTB-XL."""

from ._classifier import CardioNetClassifier
from ._constants import LEADS, PUBLISHED_THRESHOLDS, SUPERCLASSES
from ._version import __version__

__all__ = [
    "CardioNetClassifier",
    "LEADS",
    "PUBLISHED_THRESHOLDS",
    "SUPERCLASSES",
    "__version__",
]
