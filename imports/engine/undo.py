"""Undo an import: replay its journal backwards, newest statement first.

An undo is a job of its own (``ImportJob.undoes``), run like an import:
claimed and locked by the runtime, with progress, a cancel checked between
parts, and resumed after a worker crash. Its unit (a *part*) is one journal
entry: what one statement of the undone import wrote to one master (at most
a batch of rows). Each part is undone in one transaction together with the
undo's figures, its row errors, its own journal and its checkpoint (parts
done), so a crash resumes exactly where the last commit left off.

For each row of a part:

* a row the import added is soft-deleted. An item, color or size is removed
  only when no live row refers to it any more; otherwise it is kept
  (counted as unchanged). Parts run newest first, so an import's variants
  are undone before the items, colors and sizes it created for them;
* a row the import changed gets back the values it replaced (only the
  columns that changed);
* a row the import soft-deleted (the import was itself an undo: this is a
  redo) comes back, unless its key has a live row again;
* a row changed since (its ``updated_at`` is no longer the one the import
  wrote, or it was deleted) is a *conflict*: left as it is and recorded as
  a row error with its value now and the value the undo would restore.
  ``force`` restores a live row anyway; a deleted one stays deleted.

Locks as imports take them: ``SELECT ... FOR UPDATE`` of the part's rows in
id order, then plain UPDATEs (row locks only, never ``LOCK TABLE``); a part
touches one table, so two undos cannot deadlock on each other.

The undo journals what it changes exactly as an import does (removed ids,
replaced values, rows brought back), so it can be undone in turn.

A dry run (the preview) plans every part without writing: the same figures
and conflicts, an item counted as removed when the only live rows using it
are ones the undo would remove.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from catalog.kinds import KINDS, Master
from imports.engine import record
from imports.engine.strategies import ProgressCallback, Strategy
from imports.models import ImportJob, ImportJournal, ImportResult, ImportRowError, ImportStage, ImportSystem

logger = logging.getLogger(__name__)


def journal_size(job: ImportJob) -> int:
    """Rows the job's journal records (what an undo of it goes through)."""
    return sum(entry.size for entry in ImportJournal.objects.filter(job=job).only("inserted", "updated", "deleted"))


@dataclass
class UndoFigures:
    """What an undo did (or, dry, would do) to the rows of the journal it replays."""

    deleted: int = 0
    updated: int = 0
    inserted: int = 0
    unchanged: int = 0
    failed: int = 0

    @classmethod
    def of(cls, job: ImportJob) -> UndoFigures:
        result = ImportResult.objects.filter(job=job).first()
        return cls(**{name: getattr(result, name) for name in asdict(cls())}) if result else cls()

    @property
    def done(self) -> int:
        return self.deleted + self.updated + self.inserted + self.unchanged + self.failed

    def __add__(self, other: UndoFigures) -> UndoFigures:
        return UndoFigures(**{name: getattr(self, name) + getattr(other, name) for name in asdict(self)})


@dataclass
class _Part:
    """One journal entry undone: figures, conflicts, and the undo's own journal of it."""

    figures: UndoFigures = field(default_factory=UndoFigures)
    conflicts: list[ImportRowError] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    restored: list[tuple[int, dict[str, str | None], dict[str, str | None]]] = field(default_factory=list)
    revived: list[int] = field(default_factory=list)
    #: The ``updated_at`` the undo gave the rows it wrote (its own journal's ``written_at``).
    written_at: datetime | None = None


class UndoRun(Strategy):
    """Replay the journal of ``job.undoes`` backwards (see the module docstring)."""

    system = ImportSystem.UPSERT

    def __init__(self, job: ImportJob, on_progress: ProgressCallback | None = None):
        super().__init__(job, on_progress)
        self.target: ImportJob = job.undoes  # type: ignore[assignment]  # an undo job always has one
        self.force = bool((job.options or {}).get("force"))
        self.figures = UndoFigures.of(job)
        self.rows_resumed = self.figures.done
        self.masters = {master.table: master for master in KINDS.masters()}
        #: Dry run: ids each table's rows would lose, so an item only those use counts as removed.
        self.going: dict[str, set[int]] = defaultdict(set)

    def write(self) -> None:
        job = self.job
        if not job.dry_run:
            record.journal_kept(job)
        parts = list(ImportJournal.objects.filter(job=self.target).order_by("-id").values_list("pk", flat=True))
        if job.total_rows is None:
            record.note_total(job, journal_size(self.target))
        if job.dry_run and job.checkpoint_row:
            # A dry run's plan needs every earlier part's removals: a resumed preview starts again.
            record.undo_restarted(job)
            self.figures = UndoFigures()
        for number, entry_id in enumerate(parts, start=1):
            if number <= job.checkpoint_row:
                continue
            self.check_stop()
            with transaction.atomic():
                entry = ImportJournal.objects.get(pk=entry_id)
                part = self._undo(entry)
                self._journal(entry, part)
                record.undo_part_committed(job, number, part.figures, part.conflicts)
            self.figures = self.figures + part.figures
            self.report(ImportStage.WRITING)

    def kept(self) -> str:
        return "the changes undone so far are kept (retry goes on from there)"

    def progress_figures(self) -> dict:
        return {"rows_done": self.figures.done, "rows_resumed": self.rows_resumed, **asdict(self.figures)}

    # --- one part --------------------------------------------------------------------------

    def _undo(self, entry: ImportJournal) -> _Part:
        master = self.masters[entry.master]
        model = master.model
        now = timezone.now()
        part = _Part()
        ids = sorted({*entry.inserted, *(pk for pk, _ in entry.updated), *entry.deleted})
        rows = model.all_objects.filter(pk__in=ids).order_by("pk")
        if not self.job.dry_run:
            rows = rows.select_for_update(of=("self",))
        current = {row.pk: row for row in rows}
        written_at = entry.written_at
        for pk in entry.inserted:
            row = current.get(pk)
            if row is None or row.deleted_at is not None:
                part.figures.unchanged += 1  # already gone
            elif row.updated_at != written_at and not self.force:
                self._conflict(part, master, row, "added by the import, then changed by someone else; kept")
            elif self._in_use(master, pk):
                part.figures.unchanged += 1  # an item, color or size live rows still use
            else:
                part.removed.append(pk)
        for pk, replaced in entry.updated:
            row = current.get(pk)
            if row is None or row.deleted_at is not None:
                self._conflict(part, master, row, "deleted after the import; not restored", replaced=replaced)
            elif row.updated_at != written_at and not self.force:
                self._conflict(part, master, row, "changed again after the import; kept", replaced=replaced)
            else:
                part.restored.append((pk, replaced, _values(master, row, replaced)))
        revivable = self._revivable(master, [current[pk] for pk in entry.deleted if pk in current])
        for pk in entry.deleted:
            row = current.get(pk)
            if row is None or row.deleted_at != written_at:
                self._conflict(part, master, row, "changed after it was removed; not brought back")
            elif pk not in revivable:
                self._conflict(part, master, row, "another row with the same name is live now; not brought back")
            else:
                part.revived.append(pk)
        part.figures.deleted += len(part.removed)
        part.figures.updated += len(part.restored)
        part.figures.inserted += len(part.revived)
        if self.job.dry_run:
            self.going[master.table].update(part.removed)
        else:
            _apply(model, master, part, now)
        return part

    def _in_use(self, master: Master, pk: int) -> bool:
        """Whether a live row (one this undo does not remove) still refers to the master row ``pk``."""
        for child, fk_column in _referrers(master):
            users = child.model.objects.filter(**{_attname(child.model, fk_column): pk})
            going = self.going.get(child.table)
            if not going:
                if users.exists():
                    return True
                continue
            if any(user not in going for user in users.values_list("pk", flat=True).iterator()):
                return True
        return False

    def _revivable(self, master: Master, rows: list[Model]) -> set[int]:
        """Rows whose key no live row holds now (the partial unique index would refuse the others)."""
        key = [_attname(master.model, column) for column in master.key]
        keys = {tuple(getattr(row, name) for name in key): row.pk for row in rows}
        if not keys:
            return set()
        first = key[0]
        taken = {
            tuple(values)
            for values in master.model.objects.filter(**{f"{first}__in": {k[0] for k in keys}}).values_list(*key)
        }
        return {pk for k, pk in keys.items() if k not in taken}

    def _conflict(
        self,
        part: _Part,
        master: Master,
        row: Model | None,
        reason: str,
        *,
        replaced: dict[str, str | None] | None = None,
    ) -> None:
        part.figures.failed += 1
        number = self.figures.done + part.figures.done
        described = _describe(master, row)
        problems = []
        for column, before in (replaced or {}).items():
            now = None if row is None else _text(getattr(row, _attname(master.model, column)))
            problems.append(
                {
                    "column": _label(master, column),
                    "value": now or "",
                    "reason": f"{reason} (now {_shown(now)}; before the import {_shown(before)})",
                }
            )
        if not problems:
            problems.append({"column": "", "value": "", "reason": reason})
        part.conflicts.append(record.row_error(self.job, number, problems, described))

    def _journal(self, entry: ImportJournal, part: _Part) -> None:
        """The undo's own journal of this part (so it can be undone in turn); not for a dry run."""
        if self.job.dry_run or part.written_at is None or not (part.removed or part.restored or part.revived):
            return
        ImportJournal.objects.create(
            job=self.job,
            master=entry.master,
            written_at=part.written_at,
            inserted=part.revived,
            updated=[[pk, was] for pk, _, was in part.restored],
            deleted=part.removed,
        )


def _apply(model: type[Model], master: Master, part: _Part, now) -> None:
    """Write one part: soft-delete, restore the replaced values, bring back; all rows stamped ``now``."""
    part.written_at = now
    rows = model.all_objects  # type: ignore[attr-defined]  # every catalog master has it
    if part.removed:
        rows.filter(pk__in=part.removed).update(deleted_at=now, updated_at=now)
    if part.revived:
        rows.filter(pk__in=part.revived).update(deleted_at=None, updated_at=now)
    by_columns: dict[tuple[str, ...], list[Model]] = defaultdict(list)
    for pk, replaced, _ in part.restored:
        obj = model(pk=pk, updated_at=now)
        for column, value in replaced.items():
            model_field = _field(model, column)
            setattr(obj, model_field.attname, None if value is None else model_field.to_python(value))
        by_columns[tuple(sorted(replaced))].append(obj)
    for columns, objs in by_columns.items():
        rows.bulk_update(objs, [_field(model, c).name for c in columns] + ["updated_at"])


# --- the catalog as the undo sees it ------------------------------------------------------------


def _referrers(master: Master) -> list[tuple[Master, str]]:
    """The masters whose rows refer to ``master``'s rows, with the referring column (variants -> item_id)."""
    return [
        (kind.master, parent.fk_column)
        for kind in KINDS
        for parent in kind.parents
        if parent.master.table == master.table
    ]


def _field(model: type[Model], column: str):
    return next(f for f in model._meta.concrete_fields if f.column == column)


def _attname(model: type[Model], column: str) -> str:
    return _field(model, column).attname


def _values(master: Master, row: Model, columns: dict) -> dict[str, str | None]:
    """The row's values now in ``columns``, as the journal keeps them."""
    return {column: _text(getattr(row, _attname(master.model, column))) for column in columns}


def _describe(master: Master, row: Model | None) -> dict[str, str]:
    """The row as people name it: its key (``Item``, ``Color``, ``Size`` names for a variant)."""
    if row is None:
        return {}
    kind = next(kind for kind in KINDS if kind.master.table == master.table)
    described = {}
    for name in kind.key:
        column = kind.column(name)
        value: object = row
        for step in column.path.split("__"):
            value = getattr(value, step)
        described[column.label or name] = str(value)
    return described


def _label(master: Master, column: str) -> str:
    """What people call a master's column (``Price``), from the kind that writes it."""
    for kind in KINDS:
        for candidate in kind.columns:
            if candidate.master.table == master.table and candidate.db_column == column:
                return candidate.label or candidate.name
    return column


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _shown(value: str | None) -> str:
    return "empty" if value in (None, "") else repr(value)
