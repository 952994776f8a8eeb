"""SNOMED CT diagnoses of PhysioNet/CinC Challenge records, mapped to the PTB-XL superclasses.

Sources
-------
- The code names: the PhysioNet/CinC Challenge 2021's ``dx_mapping_scored.csv`` and
  ``dx_mapping_unscored.csv`` (github.com/physionetchallenges/evaluation-2021), which list
  every code of the Challenge's ``# Dx:`` header lines, 133 in all: all are in the table.
- The superclasses: PTB-XL's ``scp_statements.csv``, column ``diagnostic_class``, of the SCP
  statement each code stands for (Wagner et al. 2020, PTB-XL 1.0.1). The Challenge's PTB-XL
  records (``HR*``) show which: its ``PTB_XL`` counts equal PTB-XL's statement counts (e.g.
  698252002 ~ IVCD, 55930002 ~ NST_), and PTB-XL's NORM and SR are both 426783006.

Rules, in this order
--------------------
1. A code that stands for a PTB-XL *diagnostic* statement takes its ``diagnostic_class``;
   a code more general than statements all of one class takes that class (6374002 bundle
   branch block, 233917008 AV block: CD).
2. A code that names an ST-segment or T-wave abnormality is STTC, the class PTB-XL names
   "ST/T change", even where PTB-XL's own statement is a form statement without a class
   (STD_, STE_, INVT, TAB_): in the Challenge's other databases these codes are the only
   statement of an ST/T change; in PTB-XL folds 1-9, 75 % of the STD_ and 66 % of the INVT
   records are STTC.
3. NORM is not a code: a record is NORM when it has 426783006 (sinus rhythm, which is also
   PTB-XL's NORM in the Challenge data) and no other code but sinus bradycardia, sinus
   tachycardia or sinus arrhythmia (those PTB-XL's NORM records carry: 55 %, 28 %, 55 %).
   Any other code, mapped or not, known or not, rules NORM out. PTB-XL also labels NORM some
   records with a second statement (IRBBB, PAC, LPR, low voltage...); this rule does not.
4. Everything else is deliberately not mapped: rhythms and ectopic beats (PTB-XL's rhythm
   statements have no class), axis and rotation (PTB-XL keeps them out of its statements),
   form statements that are not ST/T changes (164947007 prolonged PR interval ~ LPR,
   164917005 Q wave abnormal ~ QWAVE, 164951009 abnormal QRS ~ ABQRS, 251146004 low QRS
   voltages ~ LVOLT), voltage criteria alone (55827005 left ventricular high voltage ~
   VCLVH; PTB-XL calls 13 % of these records NORM), findings PTB-XL has no statement for
   (early repolarisation, U wave, Brugada, left ventricular strain) and diseases that are not
   ECG statements (heart failure, coronary heart disease).
"""

import re
from types import MappingProxyType

import numpy as np

from .._constants import SUPERCLASSES

#: Version of the table and rules below; bumped whenever a code's class, the NORM rule or
#: the set of known codes changes, so that labels can say which mapping made them.
SNOMED_MAPPING_VERSION = "1.0"

SINUS_RHYTHM = "426783006"

# (SNOMED CT code, Challenge abbreviation, name, superclass or None, the PTB-XL SCP statements
# it stands for or generalises; marked (form) or (rhythm) where PTB-XL gives them no class)
_TABLE = (
    # NORM (rule 3) and the codes that leave it
    ("426783006", "NSR", "sinus rhythm", "NORM", "NORM, SR (rhythm)"),
    ("426177001", "SB", "sinus bradycardia", None, "SBRAD (rhythm)"),
    ("427084000", "STach", "sinus tachycardia", None, "STACH (rhythm)"),
    ("427393009", "SA", "sinus arrhythmia", None, "SARRH (rhythm)"),
    # MI
    (
        "164865005",
        "MI",
        "myocardial infarction",
        "MI",
        "IMI, ASMI, ILMI, ALMI, LMI, IPLMI, IPMI, PMI",
    ),
    ("54329005", "AnMI", "anterior myocardial infarction", "MI", "AMI"),
    ("57054005", "AMI", "acute myocardial infarction", "MI", ""),
    ("164867002", "OldMI", "old myocardial infarction", "MI", ""),
    # STTC
    ("164861001", "MIs", "myocardial ischemia", "STTC", "ISC_, ISCAL, ISCAS, ISCIL"),
    ("426434006", "AnMIs", "anterior ischemia", "STTC", "ISCAN"),
    ("425419005", "IIs", "inferior ischaemia", "STTC", "ISCIN"),
    ("425623009", "LIs", "lateral ischaemia", "STTC", "ISCLA"),
    ("413444003", "AMIs", "acute myocardial ischemia", "STTC", ""),
    ("413844008", "CMI", "chronic myocardial ischemia", "STTC", ""),
    ("111975006", "LQT", "prolonged QT interval", "STTC", "LNGQT"),
    ("55930002", "STC", "ST changes", "STTC", "NST_"),
    ("428750005", "NSSTTA", "nonspecific ST-T abnormality", "STTC", ""),
    ("164934002", "TAb", "T wave abnormal", "STTC", "NDT, TAB_ (form)"),
    ("59931005", "TInv", "T wave inversion", "STTC", "INVT (form)"),
    ("429622005", "STD", "ST depression", "STTC", "STD_ (form)"),
    ("704997005", "ISTD", "inferior ST segment depression", "STTC", ""),
    ("164931005", "STE", "ST elevation", "STTC", "STE_ (form)"),
    ("164930006", "STIAb", "ST interval abnormal", "STTC", ""),
    # CD
    ("6374002", "BBB", "bundle branch block", "CD", "CLBBB, CRBBB, ILBBB, IRBBB"),
    ("164909002", "LBBB", "left bundle branch block", "CD", "CLBBB"),
    ("733534002", "CLBBB", "complete left bundle branch block", "CD", "CLBBB"),
    ("251120003", "ILBBB", "incomplete left bundle branch block", "CD", "ILBBB"),
    ("59118001", "RBBB", "right bundle branch block", "CD", "CRBBB"),
    ("713427006", "CRBBB", "complete right bundle branch block", "CD", "CRBBB"),
    ("713426002", "IRBBB", "incomplete right bundle branch block", "CD", "IRBBB"),
    ("445118002", "LAnFB", "left anterior fascicular block", "CD", "LAFB"),
    ("445211001", "LPFB", "left posterior fascicular block", "CD", "LPFB"),
    ("698252002", "NSIVCB", "nonspecific intraventricular conduction disorder", "CD", "IVCD"),
    ("82226007", "DIB", "diffuse intraventricular block", "CD", "IVCD"),
    ("270492004", "IAVB", "1st degree AV block", "CD", "1AVB"),
    ("195042002", "IIAVB", "2nd degree AV block", "CD", "2AVB"),
    ("54016002", "MoI", "Mobitz type I (Wenckebach) AV block", "CD", "2AVB"),
    ("426183003", "IIAVBII", "Mobitz type II AV block", "CD", "2AVB"),
    ("27885002", "CHB", "complete heart block", "CD", "3AVB"),
    ("233917008", "AVB", "AV block", "CD", "1AVB, 2AVB, 3AVB"),
    ("204384007", "CIAHB", "congenital incomplete AV heart block", "CD", "1AVB, 2AVB"),
    ("74390002", "WPW", "Wolff-Parkinson-White pattern", "CD", "WPW"),
    ("195060002", "VPEx", "ventricular pre-excitation", "CD", "WPW"),
    # HYP
    ("164873001", "LVH", "left ventricular hypertrophy", "HYP", "LVH"),
    ("89792004", "RVH", "right ventricular hypertrophy", "HYP", "RVH"),
    ("266249003", "VH", "ventricular hypertrophy", "HYP", "SEHYP"),
    ("67741000119109", "LAE", "left atrial enlargement", "HYP", "LAO/LAE"),
    ("446813000", "LAH", "left atrial hypertrophy", "HYP", "LAO/LAE"),
    ("253352002", "LAA", "left atrial abnormality", "HYP", "LAO/LAE"),
    ("446358003", "RAH", "right atrial hypertrophy", "HYP", "RAO/RAE"),
    ("253339007", "RAAb", "right atrial abnormality", "HYP", "RAO/RAE"),
    ("195126007", "AH", "atrial hypertrophy", "HYP", "LAO/LAE, RAO/RAE"),
    # Not mapped: form statements, voltage criteria, other findings (rule 4)
    ("164947007", "LPR", "prolonged PR interval", None, "LPR (form)"),
    ("164917005", "QAb", "Q wave abnormal", None, "QWAVE (form)"),
    ("164951009", "abQRS", "abnormal QRS", None, "ABQRS (form)"),
    ("251146004", "LQRSV", "low QRS voltages", None, "LVOLT (form)"),
    ("55827005", "LVHV", "left ventricular high voltage", None, "VCLVH (form)"),
    ("67751000119106", "RAHV", "right atrial high voltage", None, ""),
    ("251259000", "HTV", "high T voltage", None, ""),
    ("251223006", "TPW", "tall P wave", None, ""),
    ("251205003", "PPW", "prolonged P wave", None, ""),
    ("164912004", "PWC", "P wave change", None, ""),
    ("164921003", "RAb", "R wave abnormal", None, ""),
    ("365413008", "PRWP", "poor R wave progression", None, ""),
    ("164942001", "FQRS", "fragmented QRS", None, ""),
    ("164937009", "UAb", "U wave abnormal", None, ""),
    ("428417006", "ERe", "early repolarization", None, ""),
    ("370365005", "LVS", "left ventricular strain", None, ""),
    ("418818005", "BRU", "Brugada", None, ""),
    ("49578007", "SPRI", "shortened PR interval", None, ""),
    ("77867006", "SQT", "decreased QT interval", None, ""),
    ("251139008", "ALR", "suspect arm ECG leads reversed", None, ""),
    # Not mapped: axis and rotation
    ("39732003", "LAD", "left axis deviation", None, "heart_axis (column)"),
    ("47665007", "RAD", "right axis deviation", None, "heart_axis (column)"),
    ("251200008", "ICA", "indeterminate cardiac axis", None, "heart_axis (column)"),
    ("251198002", "CR", "clockwise rotation", None, ""),
    ("251199005", "CCR", "counterclockwise rotation", None, ""),
    ("61721007", "CVCL/CCVCL", "(counter)clockwise vectorcardiographic loop", None, ""),
    # Not mapped: rhythms, ectopic beats, pacing
    ("164889003", "AF", "atrial fibrillation", None, "AFIB (rhythm)"),
    ("164890007", "AFL", "atrial flutter", None, "AFLT (rhythm)"),
    ("195080001", "AFAFL", "atrial fibrillation and flutter", None, ""),
    ("426749004", "CAF", "chronic atrial fibrillation", None, ""),
    ("282825002", "PAF", "paroxysmal atrial fibrillation", None, ""),
    ("314208002", "RAF", "rapid atrial fibrillation", None, ""),
    ("426627000", "Brady", "bradycardia", None, ""),
    ("284470004", "PAC", "premature atrial contraction", None, "PAC (form)"),
    ("63593006", "SVPB", "supraventricular premature beats", None, "SVARR (rhythm)"),
    ("251170000", "BPAC", "blocked premature atrial contraction", None, ""),
    ("427172004", "PVC", "premature ventricular contractions", None, "PVC (form)"),
    ("17338001", "VPB", "ventricular premature beats", None, "PVC (form)"),
    ("164884008", "VEB", "ventricular ectopics", None, "PVC (form)"),
    ("251182009", "VPVC", "paired ventricular premature complexes", None, ""),
    ("11157007", "VBig", "ventricular bigeminy", None, "BIGU (rhythm)"),
    ("251180001", "VTrig", "ventricular trigeminy", None, "TRIGU (rhythm)"),
    ("251173003", "AB", "atrial bigeminy", None, ""),
    ("251168009", "SVB", "supraventricular bigeminy", None, ""),
    ("426761007", "SVT", "supraventricular tachycardia", None, "SVTAC (rhythm)"),
    ("67198005", "PSVT", "paroxysmal supraventricular tachycardia", None, "PSVT (rhythm)"),
    ("713422000", "ATach", "atrial tachycardia", None, ""),
    ("251166008", "AVNRT", "AV node reentrant tachycardia", None, ""),
    ("233897008", "AVRT", "AV reentrant tachycardia", None, ""),
    ("426648003", "JTach", "junctional tachycardia", None, ""),
    ("164895002", "VTach", "ventricular tachycardia", None, ""),
    ("425856008", "PVT", "paroxysmal ventricular tachycardia", None, ""),
    ("164896001", "VF", "ventricular fibrillation", None, ""),
    ("111288001", "VFL", "ventricular flutter", None, ""),
    ("10370003", "PR", "pacing rhythm", None, "PACE (rhythm)"),
    ("251268003", "AP", "atrial pacing pattern", None, ""),
    ("251266004", "VPP", "ventricular pacing pattern", None, ""),
    ("106068003", "ARH", "atrial rhythm", None, ""),
    ("233892002", "AAR", "accelerated atrial escape rhythm", None, ""),
    ("251187003", "AED", "atrial escape beat", None, ""),
    ("61277005", "AIVR", "accelerated idioventricular rhythm", None, ""),
    ("49260003", "IR", "idioventricular rhythm", None, ""),
    ("426664006", "AJR", "accelerated junctional rhythm", None, ""),
    ("29320008", "AVJR", "AV junctional rhythm", None, ""),
    ("426995002", "JE", "junctional escape", None, ""),
    ("251164006", "JPC", "junctional premature complex", None, ""),
    ("75532003", "VEsB", "ventricular escape beat", None, ""),
    ("81898007", "VEsR", "ventricular escape rhythm", None, ""),
    ("13640000", "FB", "fusion beats", None, ""),
    ("50799005", "AVD", "AV dissociation", None, ""),
    ("65778007", "SAB", "sinoatrial block", None, ""),
    ("5609005", "SARR", "sinus arrest", None, ""),
    ("60423000", "SND", "sinus node dysfunction", None, ""),
    ("74615001", "BTS", "brady-tachy syndrome", None, ""),
    ("17366009", "SAAWR", "sinus atrium to atrial wandering rhythm", None, ""),
    ("195101003", "WAP", "wandering atrial pacemaker", None, ""),
    ("698247007", "CD", "cardiac dysrhythmia", None, ""),
    # Not mapped: diagnoses that are not ECG statements
    ("53741008", "CHD", "coronary heart disease", None, ""),
    ("84114007", "HF", "heart failure", None, ""),
    ("368009", "HVD", "heart valve disorder", None, ""),
    ("266257000", "TIA", "transient ischemic attack", None, ""),
)

#: SNOMED CT code -> the PTB-XL superclass it gives; 426783006 gives NORM only under the
#: NORM rule of :func:`superclass_labels`. Read-only.
SNOMED_TO_SUPERCLASS = MappingProxyType({row[0]: row[3] for row in _TABLE if row[3]})

#: Every code the mapping knows (mapped or deliberately not) -> its name. Read-only.
SNOMED_NAMES = MappingProxyType({row[0]: row[2] for row in _TABLE})

#: The codes a NORM record may carry.
_NORM_CODES = frozenset({SINUS_RHYTHM, "426177001", "427084000", "427393009"})

_DX_LINE = re.compile(r"#?\s*dx\s*:(.*)", re.IGNORECASE)
_SEPARATOR = re.compile(r"[,;\s]+")


def snomed_codes(comments):
    """The SNOMED CT codes of a record's ``Dx`` header comment.

    PhysioNet/CinC Challenge 2020-2021 headers give a record's diagnoses as a
    comment line ``# Dx: 164934002,426783006``.

    Parameters
    ----------
    comments : str or iterable of str
        The ``comments`` of :func:`read_record`, or the header's text.

    Returns
    -------
    codes : list of str
        The codes in the order of the header, each once; empty if no ``Dx``
        line holds any (``Dx: Unknown`` holds none).

    Raises
    ------
    ValueError
        If a ``Dx`` line holds something else than codes (whole numbers).

    See Also
    --------
    superclass_labels : The PTB-XL superclasses of records' codes.

    Examples
    --------
    >>> from cardionet_sk.datasets import snomed_codes
    >>> snomed_codes(["Age: 59", "Sex: Female", "Dx: 164934002,426783006"])
    ['164934002', '426783006']
    """
    lines = comments.splitlines() if isinstance(comments, str) else comments
    codes = []
    for line in lines:
        match = _DX_LINE.fullmatch(str(line).strip())
        if match is None:
            continue
        for token in _SEPARATOR.split(match[1].strip()):
            if token and token.lower() != "unknown":
                codes.append(_code(token, f"Dx comment {line.strip()!r}"))
    return list(dict.fromkeys(codes))


def _code(value, where):
    """``value`` as a SNOMED CT code string."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit():
        raise ValueError(f"{where} holds {value!r}, which is not a SNOMED CT code (a number).")
    return str(int(text))


def _record_codes(record, index):
    """The codes of one record: an iterable of codes or a comma-separated string."""
    if isinstance(record, str):
        record = [t for t in _SEPARATOR.split(record.strip()) if t]
    elif not hasattr(record, "__iter__"):
        raise TypeError(
            f"codes[{index}] is {record!r}: each record's codes must be a list of codes or a "
            "comma-separated string."
        )
    return [_code(code, f"codes[{index}]") for code in record]


def superclass_labels(codes, *, return_known=False):
    """The PTB-XL superclasses of records' SNOMED CT diagnoses.

    Maps the ``Dx`` codes of PhysioNet/CinC Challenge 2020-2021 records to the
    five PTB-XL diagnostic superclasses by the table of version
    :data:`SNOMED_MAPPING_VERSION` (sources and rules in the module
    ``cardionet_sk.datasets._snomed``). A record is:

    - MI, STTC, CD or HYP if one of its codes maps to it (table below);
    - NORM if it has 426783006 (sinus rhythm) and no other code but sinus
      bradycardia, tachycardia or arrhythmia (426177001, 427084000,
      427393009);
    - none of the five otherwise: a row of zeros.

    ============== ==================================================== =====
    code           name                                                 class
    ============== ==================================================== =====
    426783006      sinus rhythm                                         NORM
    164865005      myocardial infarction                                MI
    54329005       anterior myocardial infarction                       MI
    57054005       acute myocardial infarction                          MI
    164867002      old myocardial infarction                            MI
    164861001      myocardial ischemia                                  STTC
    426434006      anterior ischemia                                    STTC
    425419005      inferior ischaemia                                   STTC
    425623009      lateral ischaemia                                    STTC
    413444003      acute myocardial ischemia                            STTC
    413844008      chronic myocardial ischemia                          STTC
    111975006      prolonged QT interval                                STTC
    55930002       ST changes                                           STTC
    428750005      nonspecific ST-T abnormality                         STTC
    164934002      T wave abnormal                                      STTC
    59931005       T wave inversion                                     STTC
    429622005      ST depression                                        STTC
    704997005      inferior ST segment depression                       STTC
    164931005      ST elevation                                         STTC
    164930006      ST interval abnormal                                 STTC
    6374002        bundle branch block                                  CD
    164909002      left bundle branch block                             CD
    733534002      complete left bundle branch block                    CD
    251120003      incomplete left bundle branch block                  CD
    59118001       right bundle branch block                            CD
    713427006      complete right bundle branch block                   CD
    713426002      incomplete right bundle branch block                 CD
    445118002      left anterior fascicular block                       CD
    445211001      left posterior fascicular block                      CD
    698252002      nonspecific intraventricular conduction disorder     CD
    82226007       diffuse intraventricular block                       CD
    270492004      1st degree AV block                                  CD
    195042002      2nd degree AV block                                  CD
    54016002       Mobitz type I (Wenckebach) AV block                  CD
    426183003      Mobitz type II AV block                              CD
    27885002       complete heart block                                 CD
    233917008      AV block                                             CD
    204384007      congenital incomplete AV heart block                 CD
    74390002       Wolff-Parkinson-White pattern                        CD
    195060002      ventricular pre-excitation                           CD
    164873001      left ventricular hypertrophy                         HYP
    89792004       right ventricular hypertrophy                        HYP
    266249003      ventricular hypertrophy                              HYP
    67741000119109 left atrial enlargement                              HYP
    446813000      left atrial hypertrophy                              HYP
    253352002      left atrial abnormality                              HYP
    446358003      right atrial hypertrophy                             HYP
    253339007      right atrial abnormality                             HYP
    195126007      atrial hypertrophy                                   HYP
    ============== ==================================================== =====

    The other 84 codes of the Challenge are known but deliberately not mapped
    (:data:`SNOMED_NAMES` lists all 133): rhythms and ectopic beats, axis,
    pacing, and form statements that PTB-XL gives no superclass, among them
    164947007 prolonged PR interval (PTB-XL's LPR), 164917005 Q wave abnormal
    (QWAVE), 251146004 low QRS voltages (LVOLT) and 55827005 left ventricular
    high voltage (VCLVH).

    Parameters
    ----------
    codes : iterable of (iterable of str or int, or str)
        One entry per record: its SNOMED CT codes, e.g. from
        :func:`snomed_codes`, or a comma-separated string of them.
    return_known : bool, default=False
        If True, also return which records the mapping fully understands.

    Returns
    -------
    y : ndarray of shape (n_records, 5), dtype int64
        Multi-label indicator of ``NORM, MI, STTC, CD, HYP``.
    known : ndarray of shape (n_records,), dtype bool
        Only if ``return_known``. True where the record has at least one code
        and all its codes are known to the mapping (mapped or deliberately
        not). Where False, a row of zeros means "no code understood" rather
        than "none of the five", and a code the mapping does not know may hide
        a class.

    Raises
    ------
    ValueError
        If a code is not a whole number.
    TypeError
        If ``codes`` is a string, or a record's codes are neither a string nor
        an iterable.

    See Also
    --------
    snomed_codes : The codes of a record's ``Dx`` header comment.

    Examples
    --------
    >>> from cardionet_sk.datasets import superclass_labels
    >>> y, known = superclass_labels(
    ...     [["426783006"], ["164934002", "426783006"], "59118001,164873001", [], ["1"]],
    ...     return_known=True,
    ... )
    >>> y
    array([[1, 0, 0, 0, 0],
           [0, 0, 1, 0, 0],
           [0, 0, 0, 1, 1],
           [0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0]])
    >>> known
    array([ True,  True,  True, False, False])
    """
    if isinstance(codes, str):
        raise TypeError("codes must hold one entry per record, not be a single string.")
    rows, known = [], []
    for index, record in enumerate(codes):
        record_codes = set(_record_codes(record, index))
        classes = {SNOMED_TO_SUPERCLASS[c] for c in record_codes if c in SNOMED_TO_SUPERCLASS}
        if "NORM" in classes and not record_codes <= _NORM_CODES:
            classes.discard("NORM")
        rows.append([name in classes for name in SUPERCLASSES])
        known.append(bool(record_codes) and all(c in SNOMED_NAMES for c in record_codes))
    y = np.asarray(rows, dtype=np.int64).reshape(len(rows), len(SUPERCLASSES))
    if return_known:
        return y, np.asarray(known, dtype=bool)
    return y
