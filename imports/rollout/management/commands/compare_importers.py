"""``manage.py compare_importers FILE``: the legacy and the upsert importer on one file, nothing kept.

Exit codes: 0 = the systems agree (same processed and failed counts, same
resulting live rows), 1 = they disagree (each difference is listed), 2 =
usage error or the comparison cannot run here (not PostgreSQL). With
``--json`` the last line of stdout is the comparison as one JSON object.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import CommandError

from imports.management.base import ImportCommand
from imports.models import ImportSystem
from imports.rollout.comparison import COUNTED, Comparison, ComparisonUnavailable, compare_importers
from mtc.errors import DomainError

EXIT_AGREE, EXIT_DISAGREE = 0, 1  # and 2: a usage error, or a file neither importer would take (ImportCommand)
SHOWN_ROW_DIFFERENCES = 10


class Command(ImportCommand):
    help = (
        "Run a file through the legacy (LOCK TABLE) and the upsert importer, each in a transaction that is "
        "rolled back (nothing is kept), and compare processed and failed counts and the resulting live rows. "
        "Exit 0 = they agree, 1 = they disagree, 2 = usage error. PostgreSQL only; the legacy run locks the "
        "masters while it runs."
    )

    def add_arguments(self, parser):
        self.add_file_arguments(parser)
        parser.add_argument("--json", action="store_true", help="print the comparison as JSON (last stdout line)")

    def handle(self, *args, **options):
        self.check_file_options(options)
        path = options["path"]
        try:
            comparison = compare_importers(
                path=path,
                kind=options["kind"],
                file_format=options["format"] or "",
                options=self.reader_options(options),
            )
        except (ComparisonUnavailable, DomainError) as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(comparison.as_dict(), default=str))
        else:
            self.stdout.write(render(comparison))
        if not comparison.agree:
            sys.exit(EXIT_DISAGREE)


def render(comparison: Comparison) -> str:
    """The side-by-side table, the improvement and the verdict."""
    legacy, upsert = comparison.runs[ImportSystem.LEGACY], comparison.runs[ImportSystem.UPSERT]
    total = upsert.summary["total_rows"] or legacy.summary["total_rows"] or 0
    lines = [
        f"Comparing importers on {comparison.file_name} ({comparison.kind}, {total:,} data rows); "
        f"each run rolled back, nothing kept.",
        "",
    ]
    rows = [
        ("", "legacy (LOCK TABLE)", "upsert (ON CONFLICT)"),
        ("status", legacy.summary["status"], upsert.summary["status"]),
        ("rows read", _n(legacy.summary["total_rows"]), _n(upsert.summary["total_rows"])),
        ("processed", _n(legacy.processed), _n(upsert.processed)),
        ("failed", _n(legacy.failed), _n(upsert.failed)),
        *((f"  {name}", _n(legacy.summary[name]), _n(upsert.summary[name])) for name in COUNTED),
        ("duration", _seconds(legacy.duration_seconds), _seconds(upsert.duration_seconds)),
        ("rows/s", _n(legacy.summary["rows_per_second"]), _n(upsert.summary["rows_per_second"])),
        *(
            (f"live {master}s written", _n(legacy.written_counts()[master]), _n(upsert.written_counts()[master]))
            for master in legacy.written
        ),
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(3)]
    for row in rows:
        lines.append("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    lines.append("")
    improvement = comparison.improvement_percent
    if improvement is not None:
        lines.append(
            f"Performance improvement: {improvement:.1f}% "
            f"(legacy {_seconds(legacy.duration_seconds)} -> upsert {_seconds(upsert.duration_seconds)})"
        )
    if comparison.agree:
        lines.append("Result: AGREE: same processed and failed counts, same resulting live rows.")
    else:
        lines.append("Result: DISAGREE:")
        lines.extend(f"  - {difference}" for difference in comparison.differences)
        for difference in comparison.row_differences[:SHOWN_ROW_DIFFERENCES]:
            lines.append(
                f"    {difference.master} {_key(difference.key)}: "
                f"legacy {_values(difference.legacy)} | upsert {_values(difference.upsert)}"
            )
        if comparison.rows_differing > SHOWN_ROW_DIFFERENCES:
            lines.append(f"    ... and {comparison.rows_differing - SHOWN_ROW_DIFFERENCES:,} more (--json lists 50)")
    for system, run in ((ImportSystem.LEGACY, legacy), (ImportSystem.UPSERT, upsert)):
        if run.summary["failure_reason"]:
            lines.append(f"{system} failure: {run.summary['failure_reason']}")
    lines.extend(comparison.notes)
    return "\n".join(lines)


def _n(value) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if isinstance(value, float) else f"{value:,}"


def _seconds(value) -> str:
    return "-" if value is None else f"{value:.3f} s"


def _key(key: tuple) -> str:
    return " / ".join(str(part) for part in key)


def _values(values: tuple | None) -> str:
    if values is None:
        return "(no live row)"
    return "(" + ", ".join("NULL" if value is None else repr(str(value)) for value in values) + ")"
