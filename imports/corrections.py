"""Failed rows, corrected: re-checked cell by cell, then written as the file of a new import.

An import's failed rows keep the row as it was read (``ImportRowError.row_data``:
the file's own header -> cell text). A user corrects some cells (the job
page's table, or ``POST /api/imports/{id}/corrections/``); a *correction* is a
failed row's number and the cells it changes. This module:

* checks corrected rows with the engine's own rules: the job's column mapping
  (``engine.columns.map_columns``), its number format as the job read it (chosen
  or told by the file, so ``12,50`` means what it meant in the first file), the
  row parser every import uses (``engine.rows.row_parser``), and the live
  look-alike rule (``catalog.lookalikes``) for a new mixed-script name. What it
  cannot know before writing (a look-alike of a name created by another row of
  the same file, a row the database refuses) the import itself still reports;
* writes the corrected rows as the file of the new import
  (:func:`corrections_file`): a JSON array of objects keyed by the file's own
  headers, so the job's mapping reads it as it read the first file, with no
  delimiter to sniff and no encoding to guess, whatever the first file was
  (CSV, XLSX, JSON); the new import is started by ``services.import_corrections``
  through ``services.start_import``, like any upload;
* gives every failed row with the corrections laid over it and re-checked
  (:func:`corrected_rows`), for the CSV/XLSX download of the corrected rows.

Which imports can be corrected: finished, real (not dry-run) imports of the
upsert importer. A dry run wrote nothing, so importing only its failed rows
would leave out its good ones; the legacy importer keeps nothing of a file
with a bad row (fix the file and import it again).

An import's failed rows are corrected once: once an import of its corrected
rows stands (``selectors.corrected_by``: a real one, that did not stop before
changing anything and was not undone since), a second correction is refused
(``already_corrected``), so the same rows are not imported twice from two
browser tabs or two clients; the rows still wrong are corrected on that
correction import, whose own failed rows are corrected like any import's. An
import that was undone (``selectors.undone_by``; a redo brings it back) is
refused too (``undone``): its rows are no longer in the catalog, so its failed
rows alone would bring back part of a file the user took back. The failed
rows themselves stay readable and downloadable either way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePath

from catalog.kinds import KINDS
from catalog.lookalikes import LookalikeFinder, is_mixed_script, live_lookalikes, lookalike_reason
from imports.engine.columns import ColumnMap, map_columns
from imports.engine.errors import ImportRejected
from imports.engine.numbers import AUTO, effective_format
from imports.engine.rows import RowParser, row_parser
from imports.models import ImportJob, ImportRowError, ImportSystem
from imports.selectors import corrected_by, row_errors, undone_by
from mtc.errors import Conflict, Refused

#: Failed rows re-checked per database read when every failed row is written out.
CHUNK_ROWS = 2000


@dataclass(frozen=True)
class Correction:
    """One failed row to import again: its row number in the first file, and the cells it changes."""

    row_number: int
    #: Column of the file (its header, or the field it is read as) -> the corrected cell text.
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class CheckedRow:
    """A failed row with its corrections laid over it, and what is still wrong with it."""

    row_number: int
    #: The file's header -> cell text, every column of the file.
    values: dict[str, str]
    #: ``[{"column", "value", "reason"}]`` as an import reports them; empty when the row would import.
    problems: list[dict]
    #: The headers of the cells the corrections changed.
    corrected: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class Sheet:
    """How a job's failed rows are read: its headers, its column mapping and its number format."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.kind = KINDS.get(job.kind)
        options = job.options or {}
        self.headers: list[str] = [str(h) for h in options.get("headers", []) if str(h).strip()]
        self.number_format = effective_format(
            options.get("number_format") or AUTO, options.get("detected_number_format")
        )
        try:
            columns: ColumnMap | None = map_columns(self.headers, self.kind, job.mapping or None)
        except ImportRejected:  # the job never read its header (it failed first, or has not run yet)
            columns = None
        self._columns = columns
        #: What a correction may name a column by: the header as written, trimmed, or the field it is read as.
        self.aliases: dict[str, str] = {**(columns.headers if columns else {}), **{h.strip(): h for h in self.headers}}

    @property
    def columns(self) -> ColumnMap:
        if self._columns is None:
            raise Conflict(
                f"Import #{self.job.pk} has no columns read from its file, so it has no rows to correct.",
                code="not_correctable",
            )
        return self._columns

    @cached_property
    def parse(self) -> RowParser:
        return row_parser(self.columns, width=len(self.headers), number_format=self.number_format)

    def fields(self) -> dict[str, str | None]:
        """Header -> the field it is read as (None: ignored), for the editable table's column titles."""
        read_as = {header: name for name, header in (self._columns.headers.items() if self._columns else ())}
        return {header: read_as.get(header) for header in self.headers}

    def header_of(self, name: str) -> str:
        header = self.aliases.get(name) or self.aliases.get(str(name).strip())
        if header is None:
            raise Refused(
                f"Import #{self.job.pk} has no column {name!r}; its columns are "
                f"{', '.join(repr(h) for h in self.headers)}.",
                code="unknown_column",
            )
        return header

    def check(self, rows: Iterable[tuple[ImportRowError, dict[str, str]]]) -> list[CheckedRow]:
        """Lay each row's corrected cells (header -> text) over its failed row, then check it as an import would."""
        checked = []
        parsed_rows: list[tuple[CheckedRow, tuple]] = []
        for error, changes in rows:
            data = error.row_data or {}
            values = {h: _text(data.get(h, "")) for h in self.headers}
            values.update(changes)
            parsed, problems = self.parse([values[h] for h in self.headers])
            row = CheckedRow(
                row_number=error.row_number,
                values=values,
                problems=[problem._asdict() for problem in problems],
                corrected=[h for h in self.headers if h in changes],
            )
            checked.append(row)
            if parsed is not None:
                parsed_rows.append((row, parsed))
        self._refuse_lookalikes(parsed_rows)
        return checked

    def _refuse_lookalikes(self, rows: list[tuple[CheckedRow, tuple]]) -> None:
        """Add the live look-alike problem (``catalog.lookalikes``) to rows naming a new mixed-script name."""
        for slot, column in enumerate(self.kind.columns):
            header = self.columns.headers.get(column.name)
            if column.type != "name" or header is None:
                continue
            naming: dict[str, list[CheckedRow]] = {}
            for row, parsed in rows:
                name = parsed[slot]
                if name and not name.isascii() and is_mixed_script(name):
                    naming.setdefault(name, []).append(row)
            if not naming:
                continue
            noun = str(column.master.model._meta.verbose_name)
            for name, live in live_lookalikes(model=column.master.model, finder=LookalikeFinder(naming)).items():
                reason = lookalike_reason(header.strip(), name, live, noun)
                for row in naming[name]:
                    row.problems.append({"column": header, "value": name, "reason": reason})


def correctable(job: ImportJob) -> None:
    """Refuse (409) a job whose failed rows cannot be imported again on their own, saying why.

    ``not_correctable``: an undo, a check, unfinished, or a legacy import;
    ``undone``: the import was undone (with ``undone_by``); ``already_corrected``:
    its corrected rows were imported again (with ``corrected_by``).
    """
    if job.is_undo:
        raise Conflict(
            f"Undo #{job.pk} has no failed rows to correct: its rows are the ones changed since the import, "
            f"left as they were.",
            code="not_correctable",
        )
    if job.dry_run:
        raise Conflict(
            f"Import #{job.pk} was a check only: nothing was imported, so import the whole file "
            f"(its failed rows alone would leave the others out).",
            code="not_correctable",
        )
    if not job.is_finished:
        raise Conflict(
            f"Import #{job.pk} is still {job.get_status_display().lower()}; correct its failed rows once it ends.",
            code="not_correctable",
        )
    if job.system != ImportSystem.UPSERT:
        raise Conflict(
            f"Import #{job.pk} ran on the legacy importer, which kept nothing of the file; fix the file and "
            f"import it again.",
            code="not_correctable",
        )
    undo = undone_by(job=job)
    if undo is not None:
        raise Conflict(
            f"Import #{job.pk} was undone (undo #{undo.pk}), so its rows with problems are no longer to be "
            f"corrected: its other rows were taken back too.",
            code="undone",
            extra={"undone_by": undo.pk},
        )
    correction = corrected_by(job=job)
    if correction is not None:
        raise Conflict(
            f"The rows with problems of import #{job.pk} were already corrected and imported again in import "
            f"#{correction.pk}; correct the rows still with problems there.",
            code="already_corrected",
            extra={"corrected_by": correction.pk},
        )


def check_corrections(*, job: ImportJob, corrections: list[Correction]) -> list[CheckedRow]:
    """The corrected rows, each checked as an import would check it, in the order given.

    Refuses (400) a row number that is not a failed row of the job
    (``not_a_failed_row``), a row given twice (``duplicate_row``) and a
    column the file does not have (``unknown_column``).
    """
    sheet = Sheet(job)
    return sheet.check(_with_changes(sheet, corrections))


def corrections_file(*, job: ImportJob, corrections: list[Correction]) -> tuple[bytes, str, dict]:
    """The new import's file (JSON, the file's own headers), its name, and the reader options to read it with.

    Refuses an empty list (``no_corrections``) and what
    :func:`check_corrections` refuses. Rows that still have problems are
    written too: the new import reports them, like any file.
    """
    correctable(job)
    if not corrections:
        raise Refused("Send at least one corrected row.", code="no_corrections")
    sheet = Sheet(job)
    rows = sorted(_with_changes(sheet, corrections), key=lambda pair: pair[0].row_number)
    records = []
    for error, changes in rows:
        data = error.row_data or {}
        values = {h: _text(data.get(h, "")) for h in sheet.headers}
        values.update(changes)
        records.append(values)
    content = json.dumps(records, ensure_ascii=False, indent=0).encode()
    name = f"{PurePath(job.file_name).stem or 'import'}-corrected-rows.json"
    return content, name, {"number_format": sheet.number_format}


def corrected_rows(*, job: ImportJob, corrections: list[Correction]) -> tuple[list[str], Iterator[CheckedRow]]:
    """The file's headers, and every failed row of the job with the corrections laid over it, re-checked.

    For the download of the corrected rows: streamed in chunks, so thousands of
    failed rows never sit in memory at once (the corrections themselves do).
    """
    sheet = Sheet(job)
    changes = {error.row_number: values for error, values in _with_changes(sheet, corrections)}

    def rows() -> Iterator[CheckedRow]:
        chunk: list[tuple[ImportRowError, dict[str, str]]] = []
        for error in row_errors(job=job).iterator(chunk_size=CHUNK_ROWS):
            chunk.append((error, changes.get(error.row_number, {})))
            if len(chunk) >= CHUNK_ROWS:
                yield from sheet.check(chunk)
                chunk = []
        yield from sheet.check(chunk)

    return sheet.headers, rows()


def editable_rows(*, job: ImportJob):
    """The failed rows in row order, for the editable table (paged by the door)."""
    return row_errors(job=job).only("row_number", "problems", "row_data", "reason", "column", "value")


def sheet_of(*, job: ImportJob) -> Sheet:
    return Sheet(job)


def _with_changes(sheet: Sheet, corrections: list[Correction]) -> list[tuple[ImportRowError, dict[str, str]]]:
    """Each correction's failed row and its changes (header -> text), refusing unknown rows and columns."""
    seen: set[int] = set()
    for correction in corrections:
        if correction.row_number in seen:
            raise Refused(f"Row {correction.row_number} is given twice; send each row once.", code="duplicate_row")
        seen.add(correction.row_number)
    changes = {
        c.row_number: {sheet.header_of(name): _text(value) for name, value in c.values.items()} for c in corrections
    }
    found = {error.row_number: error for error in row_errors(job=sheet.job).filter(row_number__in=list(changes))}
    missing = sorted(set(changes) - set(found))
    if missing:
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        listed = ", ".join(str(n) for n in missing[:10]) + more
        raise Refused(
            f"Row(s) {listed} of import #{sheet.job.pk} did not fail; only its failed rows can be corrected.",
            code="not_a_failed_row",
        )
    return [(found[c.row_number], changes[c.row_number]) for c in corrections]


def _text(value: object) -> str:
    return "" if value is None else str(value)
