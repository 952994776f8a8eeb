"""The records side of ``cardionet``: finding WFDB records named on the command line.

Finding records imports neither TensorFlow nor the classifier, so that a typo in a path
is reported in a second, not after TensorFlow's import. Scoring them is the library's
(:mod:`cardionet_sk._scoring`).
"""

import errno
import glob
import os
import re
from pathlib import Path

from .datasets._records import _record_name

#: Characters that make an argument a glob pattern (those of :func:`glob.glob`).
_GLOB_MAGIC = re.compile(r"[*?[]")


# -- finding records ----------------------------------------------------------------------


def record_key(name):
    """What identifies a record whatever its spelling: ``a/x.hea``, ``./a/x`` and the
    absolute path of ``a/x`` are one record."""
    return os.path.realpath(_record_name(name))


def find_records(arguments):
    """The records named by the RECORD arguments, each once, in a stable order.

    An argument is a record (its header, or its path without extension), a folder (every
    ``*.hea`` below it) or a glob pattern (the headers and folders it matches, ``**``
    included). Arguments keep their order; the records of a folder or pattern are sorted.
    The first spelling of a record named twice is kept.

    Raises
    ------
    FileNotFoundError
        If a record's header does not exist, or a folder or pattern holds no header:
        a typo should end the run before it starts, not produce an empty archive.
    """
    found: dict[str, str] = {}
    for argument in arguments:
        for name in _expand(argument):
            found.setdefault(record_key(name), name)
    return list(found.values())


def _expand(argument):
    """The record names of one RECORD argument."""
    if os.path.isdir(argument):
        headers = sorted(str(path) for path in Path(argument).rglob("*.hea"))
        if not headers:
            raise FileNotFoundError(errno.ENOENT, "No WFDB header (*.hea) below", argument)
        return headers
    header = f"{_record_name(argument)}.hea"
    if os.path.isfile(header) or not _GLOB_MAGIC.search(argument):
        if not os.path.isfile(header):
            raise FileNotFoundError(errno.ENOENT, "WFDB header not found", header)
        return [argument]
    # A pattern such as `rec*` matches signal files too: only headers and folders count.
    names = []
    for match in sorted(glob.glob(argument, recursive=True)):
        if os.path.isdir(match):
            names += sorted(str(path) for path in Path(match).rglob("*.hea"))
        elif match.endswith(".hea"):
            names.append(match)
    if not names:
        raise FileNotFoundError(errno.ENOENT, "No WFDB header (*.hea) matches", argument)
    return names
