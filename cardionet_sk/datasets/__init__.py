"""Loaders of the PTB-XL electrocardiography dataset and of single WFDB records, and the
mapping of PhysioNet/CinC Challenge SNOMED CT diagnoses to the PTB-XL superclasses.

PTB-XL, Wagner et al. 2020, PhysioNet, https://doi.org/10.13026/x4td-x982, CC BY 4.0.
"""

from ._base import clear_data_home, get_data_home
from ._ptbxl import fetch_ptbxl
from ._records import read_record
from ._sample import load_sample
from ._snomed import (
    SNOMED_MAPPING_VERSION,
    SNOMED_NAMES,
    SNOMED_TO_SUPERCLASS,
    snomed_codes,
    superclass_labels,
)

__all__ = [
    "SNOMED_MAPPING_VERSION",
    "SNOMED_NAMES",
    "SNOMED_TO_SUPERCLASS",
    "clear_data_home",
    "fetch_ptbxl",
    "get_data_home",
    "load_sample",
    "read_record",
    "snomed_codes",
    "superclass_labels",
]
