"""Old versus new on the same file, keeping nothing: the guide's section 3.2 parallel test.

``compare_importers`` runs the file through each system exactly as an import
would (``services.start_import``, run here, the job routed explicitly),
each inside its own transaction that is rolled back at the end, so no master
row, job record or row error is kept; the stored copy of the file is deleted
too. The printed (or JSON) report is the only record.

Inside each run's transaction, before the rollback, it reads back every live
master row the run wrote (``updated_at`` at or after the run's start), keyed
by names, not ids (the two runs' ids differ), kind by kind (``catalog.kinds``:
the variants, items, colors and sizes a file may write). Rows a run did not write are as
they were before both runs, so two runs produce the same live rows exactly
when, for every key either run wrote, the values agree.

They agree when the processed counts (rows imported: inserted, updated,
unchanged or superseded), the failed counts and the resulting live rows are
the same. Where they must differ, by design:

* a file with a bad row: the legacy importer is all-or-nothing, its first bad
  row fails its whole run (processed 0, failed 1, nothing written), while the
  upsert importer keeps every good row and reports every bad one;
* inserted/updated/unchanged/superseded are shown but not compared: for a key
  given twice the legacy importer writes both rows (insert then update), the
  upsert importer writes the last and counts the first superseded.

PostgreSQL only, like the legacy importer. The legacy run takes its
``LOCK TABLE`` for its whole length: compare on a test database, or off-hours.
The upsert run goes first, so a cold cache handicaps the new importer, not
the old one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from catalog.kinds import KINDS
from catalog.selectors import live_rows
from imports.models import ImportSource, ImportStatus, ImportSystem
from imports.rollout.metrics import improvement_percent
from imports.selectors import row_errors
from imports.serializers import JobSerializer
from imports.services import start_import

ORDER = (ImportSystem.UPSERT, ImportSystem.LEGACY)
COUNTED = ("inserted", "updated", "unchanged", "superseded")
#: Row differences kept in a report.
MAX_ROW_DIFFERENCES = 50
#: Row errors kept per run in a report.
MAX_ROW_ERRORS = 5


class ComparisonUnavailable(Exception):
    """The comparison cannot run here (not PostgreSQL)."""


@dataclass
class RunOutcome:
    """One system's run of the file, read back before its rollback."""

    system: str
    summary: dict
    #: kind -> {key: values} of the live rows the run wrote
    written: dict[str, dict[tuple, tuple]]
    row_errors: list[dict]

    @property
    def processed(self) -> int:
        return sum(self.summary[name] or 0 for name in COUNTED)

    @property
    def failed(self) -> int:
        return self.summary["failed"] or 0

    @property
    def duration_seconds(self) -> float | None:
        return self.summary["duration_seconds"]

    def written_counts(self) -> dict[str, int]:
        return {kind: len(rows) for kind, rows in self.written.items()}


@dataclass(frozen=True)
class RowDifference:
    master: str
    key: tuple
    upsert: tuple | None
    legacy: tuple | None

    def as_dict(self) -> dict:
        return {
            "master": self.master,
            "key": list(self.key),
            "upsert": _plain(self.upsert),
            "legacy": _plain(self.legacy),
        }


@dataclass
class Comparison:
    file_name: str
    kind: str
    runs: dict[str, RunOutcome]
    differences: list[str] = field(default_factory=list)
    row_differences: list[RowDifference] = field(default_factory=list)
    rows_differing: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return not self.differences

    @property
    def improvement_percent(self) -> float | None:
        return improvement_percent(
            legacy=self.runs[ImportSystem.LEGACY].duration_seconds,
            upsert=self.runs[ImportSystem.UPSERT].duration_seconds,
        )

    def as_dict(self) -> dict:
        return {
            "file_name": self.file_name,
            "kind": self.kind,
            "agree": self.agree,
            "differences": self.differences,
            "rows_differing": self.rows_differing,
            "row_differences": [difference.as_dict() for difference in self.row_differences],
            "improvement_percent": self.improvement_percent,
            "notes": self.notes,
            "runs": {
                system: {
                    **{name: run.summary[name] for name in ("status", "total_rows", *COUNTED, "failed")},
                    "processed": run.processed,
                    "duration_seconds": run.duration_seconds,
                    "rows_per_second": run.summary["rows_per_second"],
                    "failure_reason": run.summary["failure_reason"],
                    "rows_written": run.written_counts(),
                    "row_errors": run.row_errors,
                }
                for system, run in self.runs.items()
            },
        }


def compare_importers(*, path: str, kind: str = "variants", file_format: str = "", options: dict | None = None):
    """Run ``path`` through both systems, keep nothing, and say whether they agree."""
    KINDS.get(kind)
    if connection.vendor != "postgresql":
        raise ComparisonUnavailable(
            f"compare_importers needs PostgreSQL: the legacy importer uses LOCK TABLE ({connection.vendor} here)."
        )
    runs: dict[str, RunOutcome] = {
        str(system): run_and_roll_back(system=system, path=path, kind=kind, file_format=file_format, options=options)
        for system in ORDER
    }
    comparison = Comparison(file_name=runs[ImportSystem.UPSERT].summary["file_name"], kind=kind, runs=runs)
    _compare(comparison)
    return comparison


def run_and_roll_back(*, system: str, path: str, kind: str, file_format: str = "", options: dict | None = None):
    """Import ``path`` with ``system`` in a transaction that is rolled back; what it did, read before."""
    since = timezone.now()
    stored = None
    try:
        with transaction.atomic():
            with open(path, "rb") as stream:
                job = start_import(
                    stream=stream,
                    file_name=path,
                    kind=kind,
                    source=ImportSource.CLI,
                    system=system,
                    file_format=file_format,
                    options=options,
                    background=False,
                )
            stored = (job.file.storage, str(job.file.name))
            errors = [
                {"row_number": error.row_number, "reason": error.reason}
                for error in row_errors(job=job)[:MAX_ROW_ERRORS]
            ]
            outcome = RunOutcome(system, dict(JobSerializer(job).data), live_rows_written(since=since), errors)
            transaction.set_rollback(True)
    finally:
        if stored is not None:
            storage, name = stored
            storage.delete(name)
    return outcome


def live_rows_written(*, since: datetime) -> dict[str, dict[tuple, tuple]]:
    """kind -> {key: values} of the live rows written at or after ``since``, keyed by names."""
    return {kind.name: live_rows(kind=kind, written_since=since) for kind in KINDS}


def _compare(comparison: Comparison) -> None:
    upsert, legacy = comparison.runs[ImportSystem.UPSERT], comparison.runs[ImportSystem.LEGACY]
    if upsert.processed != legacy.processed:
        comparison.differences.append(f"processed: legacy {legacy.processed:,}, upsert {upsert.processed:,}")
    if upsert.failed != legacy.failed:
        comparison.differences.append(f"failed: legacy {legacy.failed:,}, upsert {upsert.failed:,}")
    for kind in KINDS:
        master = kind.name
        mine, theirs = upsert.written[master], legacy.written[master]
        before = live_rows(kind=kind, keys=mine.keys() ^ theirs.keys())
        for key in sorted(mine.keys() | theirs.keys(), key=_sort_key):
            new = mine.get(key, before.get(key))
            old = theirs.get(key, before.get(key))
            if new != old:
                comparison.rows_differing += 1
                if len(comparison.row_differences) < MAX_ROW_DIFFERENCES:
                    comparison.row_differences.append(RowDifference(master, key, upsert=new, legacy=old))
    if comparison.rows_differing:
        comparison.differences.append(f"live rows: {comparison.rows_differing:,} differ")
    if legacy.summary["status"] == ImportStatus.FAILED and legacy.row_errors and upsert.failed:
        first = legacy.row_errors[0]
        comparison.notes.append(
            f"Expected difference: the legacy importer is all-or-nothing, so its first bad row "
            f"(row {first['row_number']}: {first['reason']}) failed its whole run, while the upsert importer "
            f"kept the good rows and reported {upsert.failed:,} bad one(s)."
        )


def _sort_key(key: tuple) -> tuple:
    return tuple(str(part) for part in key)


def _plain(values: tuple | None) -> list | None:
    if values is None:
        return None
    return [str(value) if isinstance(value, Decimal) else value for value in values]
