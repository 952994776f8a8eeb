"""cardionet-sk: scikit-learn compatible 12-lead ECG classifiers for PTB-XL."""

import importlib
from typing import TYPE_CHECKING

from ._constants import LEADS, PUBLISHED_THRESHOLDS, SUPERCLASSES
from ._version import __version__

if TYPE_CHECKING:
    from ._calibration import CalibratedMultilabelClassifierCV
    from ._calibration_maps import apply_calibration, fit_calibration_maps
    from ._classifier import CardioNetClassifier
    from ._distributed import predict_proba_dask, score_records_dask
    from ._ensemble import MultilabelVotingClassifier
    from ._loading import load_pretrained
    from ._prior_shift import PriorShiftAdaptedClassifier
    from ._priors import adjust_probabilities, estimate_priors_bbse, estimate_priors_em
    from ._signal_checks import SignalProblem, SignalQualityWarning, check_signal_quality
    from ._threshold_optimizer import ThresholdOptimizer
    from ._thresholds import apply_thresholds, tune_thresholds
    from ._windowing import PTBXLWindower
    from .hub import list_pretrained

# Imported on first use (PEP 562): the classifier imports TensorFlow, which takes
# seconds, and `cardionet --help` or `import cardionet_sk.datasets` need none of it.
_LAZY = {
    "CalibratedMultilabelClassifierCV": "._calibration",
    "CardioNetClassifier": "._classifier",
    "MultilabelVotingClassifier": "._ensemble",
    "PTBXLWindower": "._windowing",
    "PriorShiftAdaptedClassifier": "._prior_shift",
    "SignalProblem": "._signal_checks",
    "SignalQualityWarning": "._signal_checks",
    "ThresholdOptimizer": "._threshold_optimizer",
    "adjust_probabilities": "._priors",
    "apply_calibration": "._calibration_maps",
    "apply_thresholds": "._thresholds",
    "check_signal_quality": "._signal_checks",
    "estimate_priors_bbse": "._priors",
    "estimate_priors_em": "._priors",
    "fit_calibration_maps": "._calibration_maps",
    "list_pretrained": ".hub",
    "load_pretrained": "._loading",
    "predict_proba_dask": "._distributed",
    "score_records_dask": "._distributed",
    "tune_thresholds": "._thresholds",
}

__all__ = [
    "CalibratedMultilabelClassifierCV",
    "CardioNetClassifier",
    "LEADS",
    "MultilabelVotingClassifier",
    "PTBXLWindower",
    "PUBLISHED_THRESHOLDS",
    "PriorShiftAdaptedClassifier",
    "SUPERCLASSES",
    "SignalProblem",
    "SignalQualityWarning",
    "ThresholdOptimizer",
    "__version__",
    "adjust_probabilities",
    "apply_calibration",
    "apply_thresholds",
    "check_signal_quality",
    "estimate_priors_bbse",
    "estimate_priors_em",
    "fit_calibration_maps",
    "list_pretrained",
    "load_pretrained",
    "predict_proba_dask",
    "score_records_dask",
    "tune_thresholds",
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
