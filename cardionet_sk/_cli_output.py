"""The output side of ``cardionet``: rows written batch by batch, and read back to resume.

Every format is written incrementally (the table too: its column widths are known before
the first row), so an archive's results never sit in memory, and an interrupted run
leaves every finished batch on disk for ``--resume``.
"""

import csv
import errno
import importlib.util
import json
import os
import textwrap
from pathlib import Path

from ._scoring import columns, label_text

FORMATS = ("table", "csv", "jsonl", "json", "parquet")

#: Formats whose files are appended to by ``--resume``: a JSON array and a Parquet file
#: end with a footer, a table is for reading.
RESUMABLE = ("csv", "jsonl")

_BY_SUFFIX = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def to_stdout(output):
    return output in (None, "-")


def output_format(fmt, output):
    """The format to write: ``fmt``, else the one of the output's suffix, else a table.

    Raises
    ------
    ValueError
        If ``fmt`` contradicts a known suffix (``--format csv --output x.jsonl``).
    """
    implied = None if to_stdout(output) else _BY_SUFFIX.get(Path(output).suffix.lower())
    if fmt is not None and implied is not None and fmt != implied:
        raise ValueError(
            f"--format {fmt} contradicts the suffix of --output {output}, which means {implied}"
        )
    return fmt or implied or "table"


def check_output(output, fmt):
    """Fail, before any work, if ``output`` cannot be written in ``fmt``."""
    if fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ModuleNotFoundError(
            'Parquet output needs pyarrow: pip install pyarrow (or "cardionet-sk[parquet]")'
        )
    if to_stdout(output):
        return
    if os.path.isdir(output):
        raise IsADirectoryError(errno.EISDIR, "--output is a folder, not a file", output)
    folder = os.path.dirname(output) or "."
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, "Folder of --output not found", folder)
    target = output if os.path.exists(output) else folder
    if not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, "--output is not writable", target)


# -- resuming -----------------------------------------------------------------------------


def read_done(output, fmt):
    """The records already in ``output``, and the classes it was written with (or None).

    A last line cut short by an interrupted run is removed from the file, so that the
    rows appended after it stay well-formed; its record is scored again.
    """
    done: list[str] = []
    classes = None
    if not os.path.exists(output):
        return done, classes
    with open(output, "rb+") as file:
        end = 0
        for number, raw in enumerate(file, start=1):
            if not raw.endswith(b"\n"):
                file.truncate(end)
                break
            end += len(raw)
            try:
                record, written_with = _parse_line(raw.decode("utf-8"), fmt, number == 1)
            except (ValueError, KeyError, IndexError) as exc:
                raise ValueError(
                    f"{output}, line {number}: not a {fmt} row of cardionet predict, so "
                    f"--resume cannot continue it ({exc!r})"
                ) from exc
            classes = classes or written_with
            if record is not None:
                done.append(record)
    return done, classes


def has_warning_column(output, fmt):
    """Whether the rows appended to ``output`` by ``--resume`` get a ``warning`` column.

    A CSV file written before the column existed keeps its layout: its header ends at
    ``error``. JSON Lines rows name their fields, so old and new rows mix.
    """
    if fmt != "csv" or not os.path.exists(output) or os.path.getsize(output) == 0:
        return True
    with open(output, encoding="utf-8", newline="") as file:
        return next(csv.reader(file), ["warning"])[-1] == "warning"


def _parse_line(line, fmt, first):
    """``(record or None for a header, class names or None)`` of one line of output."""
    if fmt == "jsonl":
        row = json.loads(line)
        return row["record"], list(row["probabilities"]) if row["probabilities"] else None
    cells = next(csv.reader([line]))
    if first:
        tail = 3 if cells[-1:] == ["warning"] else 2
        if cells[0] != "record" or cells[-tail:][:2] != ["predicted", "error"]:
            raise ValueError(f"unexpected header {cells}")
        return None, cells[1:-tail]
    return cells[0], None


# -- writers ------------------------------------------------------------------------------


class _Writer:
    """Writes rows to a stream batch by batch; ``close`` completes the document.

    Nothing is written before the first row, so that a run that fails before it leaves
    standard output empty.
    """

    def __init__(self, stream, classes, *, header=True, record_width=0, warning=True):
        self.stream, self.classes, self.header = stream, [str(c) for c in classes], header
        self.record_width = record_width  # of the table, whose columns are aligned
        self.warning = warning  # write the signal checks' messages
        self.started = False

    def write(self, rows):
        if not self.started:
            self._start()
            self.started = True
        self._rows(rows)
        self.stream.flush()

    def close(self, failed=False):
        if not self.started and not failed:
            self.write([])
        if self.started:
            self._end()
            self.stream.flush()

    def _start(self):
        pass

    def _rows(self, rows):
        for row in rows:
            self._row(row)

    def _row(self, row):
        raise NotImplementedError

    def _end(self):
        pass


class _TableWriter(_Writer):
    def _start(self):
        self.widths = [max(self.record_width, len("record"))]
        self.widths += [max(len("0.000"), len(c)) for c in self.classes]
        print(self._cells("record", self.classes, "predicted"), file=self.stream)

    def _cells(self, first, values, last):
        cells = [first.ljust(self.widths[0])]
        cells += [v.rjust(w) for v, w in zip(values, self.widths[1:])]
        return "  ".join([*cells, last]).rstrip()

    def _row(self, row):
        if row.error is not None:
            print(f"{row.record.ljust(self.widths[0])}  skipped: {row.error}", file=self.stream)
            return
        values = [f"{p:.3f}" for p in row.probabilities]
        print(self._cells(row.record, values, label_text(row.labels)), file=self.stream)
        if self.warning and row.warning:  # long messages: on a line of their own
            print(f"{' ' * self.widths[0]}  warning: {row.warning}", file=self.stream)


class _StatementTableWriter(_TableWriter):
    """The table of a model whose labels have descriptions (e.g. the 71 SCP-ECG statements):
    for each record, one line per predicted label, with its probability and description,
    instead of a column per label."""

    def __init__(self, stream, classes, *, descriptions, **kwargs):
        super().__init__(stream, classes, **kwargs)
        self.descriptions = dict(zip(self.classes, descriptions))

    def _start(self):
        self.widths = [max(self.record_width, len("record"))]
        self.label_width = max(len("label"), *map(len, self.classes))
        print(
            f"{'record'.ljust(self.widths[0])}  {'label'.ljust(self.label_width)}  "
            "probability  description",
            file=self.stream,
        )

    def _row(self, row):
        if row.error is not None:
            super()._row(row)
            return
        predicted = [str(c) for c in row.labels]
        proba = dict(zip(self.classes, row.probabilities))
        first = row.record.ljust(self.widths[0])
        if not predicted:
            print(f"{first}  {'(none)'.ljust(self.label_width)}", file=self.stream)
        for i, label in enumerate(predicted):
            lead = first if i == 0 else " " * self.widths[0]
            print(
                f"{lead}  {label.ljust(self.label_width)}  {proba[label]:11.3f}  "
                f"{self.descriptions[label]}",
                file=self.stream,
            )
        if self.warning and row.warning:
            print(f"{' ' * self.widths[0]}  warning: {row.warning}", file=self.stream)


class _CSVWriter(_Writer):
    def _start(self):
        self.csv = csv.writer(self.stream, lineterminator="\n")
        if self.header:
            self.csv.writerow(columns(self.classes, self.warning))

    def _row(self, row):
        warning = [row.warning or ""] if self.warning else []
        if row.error is not None:
            self.csv.writerow([row.record, *[""] * len(self.classes), "", row.error, *warning])
        else:
            values = [f"{p:.6f}" for p in row.probabilities]
            self.csv.writerow([row.record, *values, label_text(row.labels), "", *warning])


def _as_dict(row, classes, warning=True):
    """A row as JSON: ``warning`` is ``""`` for a record that passed the signal checks,
    ``null`` for a skipped one (not checked)."""
    scored = row.error is None
    fields = {
        "record": row.record,
        "probabilities": dict(zip(classes, map(float, row.probabilities))) if scored else None,
        "labels": list(row.labels) if scored else None,
        "error": row.error,
    }
    if warning:
        fields["warning"] = (row.warning or "") if scored else None
    return fields


class _JSONLinesWriter(_Writer):
    def _row(self, row):
        print(json.dumps(_as_dict(row, self.classes, self.warning)), file=self.stream)


class _JSONWriter(_Writer):
    """A JSON array, laid out as ``json.dumps(rows, indent=2)`` would."""

    def _start(self):
        self.stream.write("[")
        self.separator = "\n"

    def _row(self, row):
        text = json.dumps(_as_dict(row, self.classes, self.warning), indent=2)
        self.stream.write(self.separator + textwrap.indent(text, "  "))
        self.separator = ",\n"

    def _end(self):
        self.stream.write("\n]\n" if self.separator == ",\n" else "]\n")


class _ParquetWriter(_Writer):
    """One Parquet row group per batch, with pyarrow's ParquetWriter."""

    def _start(self):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        self.schema = pa.schema(
            [("record", pa.string())]
            + [(c, pa.float64()) for c in self.classes]
            + [("predicted", pa.string()), ("error", pa.string())]
            + ([("warning", pa.string())] if self.warning else [])
        )
        self.parquet = pq.ParquetWriter(self.stream, self.schema)

    def _rows(self, rows):
        if not rows:
            return
        batch: dict[str, list] = {name: [] for name in self.schema.names}
        for row in rows:
            scored = row.error is None
            batch["record"].append(row.record)
            values = row.probabilities if scored else [None] * len(self.classes)
            for c, p in zip(self.classes, values):
                batch[c].append(None if p is None else float(p))
            batch["predicted"].append(label_text(row.labels) if scored else None)
            batch["error"].append(row.error)
            if self.warning:
                batch["warning"].append((row.warning or "") if scored else None)
        self.parquet.write_table(self.pa.Table.from_pydict(batch, schema=self.schema))

    def _end(self):
        self.parquet.close()


_WRITERS = {
    "table": _TableWriter,
    "csv": _CSVWriter,
    "jsonl": _JSONLinesWriter,
    "json": _JSONWriter,
    "parquet": _ParquetWriter,
}


def writer(stream, fmt, classes, *, record_width=0, header=True, warning=True, descriptions=None):
    """A writer of ``fmt`` rows to ``stream`` (binary for Parquet, text otherwise).

    ``header=False`` appends to a CSV file that has one; ``record_width`` is the width
    of the table's record column, the length of the longest record name. ``warning``
    writes the messages of the signal checks: a ``warning`` column (CSV, Parquet), field
    (JSON) or a line under the record's row (table). With ``descriptions``, one per
    class, the table lists each record's predicted classes, described, one per line.
    """
    settings = {"header": header, "record_width": record_width, "warning": warning}
    if fmt == "table" and descriptions is not None:
        return _StatementTableWriter(stream, classes, descriptions=descriptions, **settings)
    return _WRITERS[fmt](stream, classes, **settings)
