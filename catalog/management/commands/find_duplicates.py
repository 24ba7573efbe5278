"""``manage.py find_duplicates``: list live duplicate keys (the guide's "Common issue 1")."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from catalog.duplicates import resolve_command
from catalog.selectors import MASTERS, find_duplicates_by_master, variant_key_labels


class Command(BaseCommand):
    help = (
        "List live rows that share a key the unique indexes require to be unique, for every "
        "master (or one, with --model): the key, how many rows hold it and their ids. "
        "Exit status: 0 = no duplicates, 1 = duplicates found (so scripts can test for them), "
        "2 = the check could not run (the database could not be queried)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", choices=list(MASTERS), help="only this master (default: all)")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print one JSON document instead of a table"
        )

    def handle(self, *args, model=None, as_json=False, **options):
        try:
            found = find_duplicates_by_master(masters=[model] if model else None)
        except DatabaseError as error:
            raise CommandError(f"Could not check for duplicates: {error}", returncode=2) from error
        total = sum(len(duplicates) for duplicates in found.values())
        if as_json:
            self.stdout.write(_as_json(found, total))
        else:
            self.stdout.write(_as_table(found))
        if total:
            masters = ", ".join(name for name, duplicates in found.items() if duplicates)
            raise CommandError(
                f"{total} live duplicate key(s) in {masters}. Resolve them with: {resolve_command(model)}",
                returncode=1,
            )


def _as_json(found, total) -> str:
    document = {
        "total": total,
        "duplicates": {
            name: [{"key": d.key, "count": d.count, "ids": d.ids} for d in duplicates]
            for name, duplicates in found.items()
        },
    }
    return json.dumps(document, indent=2, default=str)


def _as_table(found) -> str:
    rows = []
    for name, duplicates in found.items():
        labels = variant_key_labels(duplicates) if name == "variant" and duplicates else {}
        for duplicate in duplicates:
            key = labels.get(tuple(duplicate.key.values())) or ", ".join(
                f"{column}={value!r}" for column, value in duplicate.key.items()
            )
            rows.append((name, key, str(duplicate.count), ", ".join(map(str, duplicate.ids))))
    checked = ", ".join(found)
    if not rows:
        return f"No live duplicates ({checked} checked)."
    header = ("master", "key", "rows", "ids")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in [header, *rows]
    ]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines) + f"\n\n{len(rows)} duplicate key(s) ({checked} checked)."
