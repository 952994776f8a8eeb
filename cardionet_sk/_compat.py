"""The private scikit-learn helpers the package uses, imported in this one place.

scikit-learn moves or renames private helpers between releases; when one
does, this is the only file to change. Every other module imports them from
here, under names without the leading underscore.
"""

import numpy as np
from sklearn.base import _fit_context as fit_context
from sklearn.calibration import _sigmoid_calibration as sigmoid_calibration
from sklearn.utils import _safe_indexing as safe_indexing
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
    validate_params,
)
from sklearn.utils.metadata_routing import _raise_for_params as raise_for_params
from sklearn.utils.validation import _check_method_params as check_method_params
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "HasMethods",
    "Interval",
    "RealNotInt",
    "StrOptions",
    "check_method_params",
    "check_sample_weight",
    "fit_context",
    "raise_for_params",
    "safe_indexing",
    "sigmoid_calibration",
    "validate_params",
]


def check_sample_weight(sample_weight, X):
    """Non-negative float32 sample weights, one per row of ``X``."""
    return _check_sample_weight(sample_weight, X, dtype=np.float32, ensure_non_negative=True)
