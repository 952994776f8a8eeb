"""The label sets of the PTB-XL benchmark tasks, built from the two metadata tables.

The tasks are those of Strodthoff et al. (2020), built as their benchmark code
builds them (``code/utils/utils.py`` of github.com/helme/ecg_ptbxl_benchmarking,
``compute_label_aggregations`` and ``select_data``).
"""

import numpy as np

from .._constants import SUPERCLASSES

#: The label sets :func:`fetch_ptbxl` offers, from the coarsest diagnostic one.
TASKS = ("superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all")

# Per task: the column of scp_statements.csv that flags its statements (None: every
# SCP code a record carries, listed in scp_statements.csv or not, as the benchmark's
# "all" task takes them), and the column that names the label a statement stands for
# (None: the statement itself).
_TASK_STATEMENTS = {
    "superdiagnostic": ("diagnostic", "diagnostic_class"),
    "subdiagnostic": ("diagnostic", "diagnostic_subclass"),
    "diagnostic": ("diagnostic", None),
    "form": ("form", None),
    "rhythm": ("rhythm", None),
    "all": (None, None),
}

#: The columns of scp_statements.csv that the tasks read.
STATEMENT_COLUMNS = ("diagnostic", "form", "rhythm", "diagnostic_class", "diagnostic_subclass")


def _check_task(task):
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(map(repr, TASKS))}; got {task!r}.")


def _record_labels(scp_codes, statements, task):
    """The set of labels of each record under ``task``.

    Likelihoods are ignored, as in the benchmark: a code counts whether its
    likelihood is 100 or 0 (which PTB-XL gives to most form and rhythm
    statements, as their likelihood is not recorded).
    """
    flag, name = _TASK_STATEMENTS[task]
    if flag is None:
        return [set(codes) for codes in scp_codes]
    selected = statements[statements[flag] == 1]
    label_of = selected[name].dropna() if name else selected.index.to_series()
    label_of = label_of.to_dict()
    return [{label_of[code] for code in codes if code in label_of} for codes in scp_codes]


def _task_target(scp_codes, statements, task):
    """Multi-label indicator of each record's labels under a PTB-XL benchmark task.

    The columns are the task's labels that at least one of the given records
    carries, in sorted order as the benchmark's ``MultiLabelBinarizer`` has
    them; that is its ``min_samples=0`` filter. ``"superdiagnostic"`` keeps
    the five columns of :data:`~cardionet_sk.SUPERCLASSES` in their order
    whatever the records. Records without a label get an all-zero row.

    Parameters
    ----------
    scp_codes : iterable of dict
        The parsed ``scp_codes`` of each record, SCP code to likelihood.
    statements : DataFrame
        ``scp_statements.csv`` indexed by SCP code.
    task : {"superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all"}
        The label set.

    Returns
    -------
    target : ndarray of shape (n_records, n_labels), dtype int64
        Multi-label indicator of ``target_names``.
    target_names : tuple of str
        The label of each column.
    """
    _check_task(task)
    labels = _record_labels(scp_codes, statements, task)
    if task == "superdiagnostic":
        target_names = SUPERCLASSES
    else:
        target_names = tuple(sorted(set().union(*labels)))
    column = {name: j for j, name in enumerate(target_names)}
    target = np.zeros((len(labels), len(target_names)), dtype=np.int64)
    for row, record in zip(target, labels):
        row[[column[label] for label in record if label in column]] = 1
    return target, target_names
