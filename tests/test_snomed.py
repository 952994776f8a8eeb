"""The SNOMED CT diagnoses of PhysioNet/CinC Challenge records and their PTB-XL superclasses."""

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from _helpers import SHARED_PTBXL, requires_shared_ptbxl
from numpy.testing import assert_array_equal

from cardionet_sk import SUPERCLASSES
from cardionet_sk.datasets import (
    SNOMED_MAPPING_VERSION,
    SNOMED_NAMES,
    SNOMED_TO_SUPERCLASS,
    read_record,
    snomed_codes,
    superclass_labels,
)
from cardionet_sk.datasets._snomed import _TABLE

CINC = Path(__file__).parent / "data" / "cinc2021"

#: The shipped records: their Dx codes and the superclasses the mapping gives them.
RECORDS = {
    "HR06000": (["164934002", "426783006"], ["STTC"]),  # T wave abnormal + sinus rhythm
    "HR06004": (["426783006"], ["NORM"]),
    "E07500": (["67741000119109", "426177001"], ["HYP"]),  # LAE + sinus bradycardia
    "JS20000": (["284470004", "427084000", "698252002", "55930002"], ["STTC", "CD"]),
}


def labels(*codes):
    return dict(zip(SUPERCLASSES, superclass_labels([list(codes)])[0]))


def positive(*codes):
    return [name for name, value in labels(*codes).items() if value]


# -- reading the codes ----------------------------------------------------------------------


@pytest.mark.parametrize("name", RECORDS)
def test_snomed_codes_of_the_shipped_records(name):
    codes, _ = RECORDS[name]
    assert snomed_codes(read_record(CINC / name).comments) == codes
    assert snomed_codes((CINC / f"{name}.hea").read_text()) == codes


@pytest.mark.parametrize(
    ("comments", "codes"),
    [
        (["Age: 59", "Dx: 164934002,426783006"], ["164934002", "426783006"]),
        (["dx:164934002 , 426783006 ,"], ["164934002", "426783006"]),
        (["Dx: 426783006", "Dx: 426783006,59118001"], ["426783006", "59118001"]),
        (["# Dx: 59118001"], ["59118001"]),
        (["Dx: Unknown"], []),
        (["Dx:"], []),
        (["Age: 59", "Sex: Female"], []),
        ([], []),
        ("HR 12 500 5000\n# Age: 1\n# Dx: 164873001\n", ["164873001"]),
    ],
)
def test_snomed_codes_parsing(comments, codes):
    assert snomed_codes(comments) == codes


def test_snomed_codes_rejects_what_is_not_a_code():
    with pytest.raises(ValueError, match=r"Dx comment 'Dx: 426783006,RBBB' holds 'RBBB'"):
        snomed_codes(["Dx: 426783006,RBBB"])


# -- the mapping ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", RECORDS)
def test_superclasses_of_the_shipped_records(name):
    codes, expected = RECORDS[name]
    y, known = superclass_labels(
        [snomed_codes(read_record(CINC / name).comments)], return_known=True
    )
    assert_array_equal(y[0], [int(c in expected) for c in SUPERCLASSES])
    assert known.tolist() == [True]


@pytest.mark.parametrize(
    ("code", "superclass"),
    [
        ("164865005", "MI"),  # myocardial infarction
        ("164861001", "STTC"),  # myocardial ischemia
        ("429622005", "STTC"),  # ST depression
        ("164934002", "STTC"),  # T wave abnormal
        ("111975006", "STTC"),  # prolonged QT: PTB-XL's LNGQT is STTC
        ("59118001", "CD"),  # RBBB
        ("713427006", "CD"),  # complete RBBB
        ("713426002", "CD"),  # incomplete RBBB
        ("164909002", "CD"),  # LBBB
        ("270492004", "CD"),  # 1st degree AV block
        ("445118002", "CD"),  # left anterior fascicular block
        ("698252002", "CD"),  # nonspecific intraventricular conduction disorder
        ("164873001", "HYP"),  # LVH
        ("89792004", "HYP"),  # RVH
        ("67741000119109", "HYP"),  # left atrial enlargement: PTB-XL's LAO/LAE is HYP
    ],
)
def test_mapped_codes(code, superclass):
    assert SNOMED_TO_SUPERCLASS[code] == superclass
    assert positive(code) == [superclass]
    assert positive(code, "426783006") == [superclass]  # and sinus rhythm: not NORM


@pytest.mark.parametrize(
    "code",
    [
        "164947007",  # prolonged PR interval: PTB-XL's LPR is a form statement
        "164917005",  # Q wave abnormal: QWAVE, a form statement
        "251146004",  # low QRS voltages: LVOLT, a form statement
        "55827005",  # left ventricular high voltage: VCLVH, a form statement
        "39732003",  # left axis deviation
        "164889003",  # atrial fibrillation: a rhythm
        "427172004",  # premature ventricular contractions
    ],
)
def test_deliberately_unmapped_codes(code):
    assert code not in SNOMED_TO_SUPERCLASS and code in SNOMED_NAMES
    y, known = superclass_labels([[code]], return_known=True)
    assert y.tolist() == [[0] * 5] and known.tolist() == [True]


@pytest.mark.parametrize(
    ("codes", "norm"),
    [
        (["426783006"], True),
        (["426783006", "426177001"], True),  # sinus bradycardia
        (["426783006", "427084000"], True),  # sinus tachycardia
        (["426783006", "427393009", "427084000"], True),  # sinus arrhythmia
        (["426177001"], False),  # no sinus rhythm code
        (["426783006", "39732003"], False),  # left axis deviation: known, not mapped
        (["426783006", "284470004"], False),  # premature atrial contraction
        (["426783006", "164947007"], False),  # prolonged PR interval
        (["426783006", "713426002"], False),  # incomplete RBBB: CD only
        (["426783006", "999999999"], False),  # a code the mapping does not know
        ([], False),
    ],
)
def test_norm_rule(codes, norm):
    assert labels(*codes)["NORM"] == int(norm)


def test_known_tells_unknown_codes_apart():
    y, known = superclass_labels(
        [["426783006", "39732003"], ["999999999"], ["164873001", "999999999"], []],
        return_known=True,
    )
    assert_array_equal(y, [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    assert known.tolist() == [True, False, False, False]


def test_superclass_labels_inputs():
    expected = superclass_labels([["59118001", "164873001"]])
    for spelling in (
        [[59118001, 164873001]],
        [np.array([59118001, 164873001])],
        ["59118001,164873001"],
        ["59118001, 164873001"],
        [("164873001", "59118001", "59118001")],
        iter([{"59118001", "164873001"}]),
    ):
        assert_array_equal(superclass_labels(spelling), expected)
    y = superclass_labels([])
    assert y.shape == (0, 5) and y.dtype == np.int64
    assert expected.dtype == np.int64


@pytest.mark.parametrize(
    ("codes", "error", "message"),
    [
        ("426783006", TypeError, "not be a single string"),
        ([426783006], TypeError, r"codes\[0\] is 426783006"),
        ([["426783006", "RBBB"]], ValueError, r"codes\[0\] holds 'RBBB'"),
        ([[True]], ValueError, r"codes\[0\] holds True"),
        ([["4.2"]], ValueError, r"codes\[0\] holds '4.2'"),
    ],
)
def test_superclass_labels_rejects(codes, error, message):
    with pytest.raises(error, match=message):
        superclass_labels(codes)


# -- the table ------------------------------------------------------------------------------


def test_table_is_consistent():
    codes = [row[0] for row in _TABLE]
    assert len(codes) == len(set(codes)) == len(SNOMED_NAMES) == 133
    assert all(code.isdigit() for code in codes)
    assert set(SNOMED_TO_SUPERCLASS.values()) == set(SUPERCLASSES)
    assert set(SNOMED_TO_SUPERCLASS) <= set(SNOMED_NAMES)
    assert [code for code, value in SNOMED_TO_SUPERCLASS.items() if value == "NORM"] == [
        "426783006"
    ]
    assert isinstance(SNOMED_MAPPING_VERSION, str) and SNOMED_MAPPING_VERSION
    with pytest.raises(TypeError):
        SNOMED_TO_SUPERCLASS["1"] = "MI"  # read-only


def test_docstring_table_is_the_mapping():
    rows = re.findall(
        r"^\s+(\d{5,}) +(.+?) +(NORM|MI|STTC|CD|HYP)$", superclass_labels.__doc__, re.M
    )
    assert {code: superclass for code, _, superclass in rows} == dict(SNOMED_TO_SUPERCLASS)
    assert {code: name for code, name, _ in rows} == {c: SNOMED_NAMES[c] for c, *_ in rows}
    unmapped = len(SNOMED_NAMES) - len(SNOMED_TO_SUPERCLASS)
    assert f"The other {unmapped} codes" in superclass_labels.__doc__


@requires_shared_ptbxl
def test_table_follows_ptbxl_diagnostic_classes():
    """Each PTB-XL statement named in the table has the class the table gives, or, marked
    (form) or (rhythm), is such a statement, without class."""
    with open(SHARED_PTBXL / "scp_statements.csv", newline="") as f:
        statements = {row[""]: row for row in csv.DictReader(f)}
    for code, _, _, superclass, counterparts in _TABLE:
        for entry in filter(None, counterparts.split(", ")):
            statement, _, mark = entry.partition(" (")
            if mark == "column)":
                continue
            row = statements[statement]
            if mark:
                assert row[mark.rstrip(")")] == "1.0" and not row["diagnostic_class"], (code, entry)
            else:
                assert row["diagnostic_class"] == superclass, (code, entry)
        if superclass is None:
            assert all(" (" in entry for entry in filter(None, counterparts.split(", "))), code
