"""Writes to the catalog masters: soft delete and restore.

A master row is never removed: ``soft_delete`` sets ``deleted_at`` and
``restore`` clears it. Both work on whole selections, all or nothing (one
transaction), so an admin bulk action either does what it says or nothing.

The rules keep the live catalog consistent with the partial unique indexes
(one live row per key) and with the variants that point at the masters:

* soft-deleting an item, color or size that still has live variants is
  **refused**, not cascaded: a cascade would silently take sellable variants
  out of the catalog. Delete (or move) the variants first;
* restoring a row whose key is held by another live row (its "live twin") is
  refused with both rows named, and so is restoring two rows of one key at once;
* restoring an item, color or size whose name mixes scripts to look like a
  live one (``Red`` typed with a Cyrillic *ie* next to a Latin ``Red``) is
  refused, in the words of the importer and the admin form
  (``lookalikes.lookalike_problem``);
* restoring a variant whose item, color or size is deleted is refused: a live
  variant must point at live masters.
"""

from __future__ import annotations

from collections import Counter

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from catalog.kinds import concrete_field
from catalog.lookalikes import lookalike_problem
from catalog.models import CatalogRecord, Color, Item, ItemVariant, Size

#: The variant field that points at each master.
VARIANT_LINKS: dict[type[CatalogRecord], str] = {Item: "item", Color: "color", Size: "size"}

#: How many problems one refusal message lists before "... and N more".
MAX_PROBLEMS_SHOWN = 10


class CatalogChangeRefused(Exception):
    """A soft delete or restore would break a catalog rule; nothing was changed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(self.shown_problems()))

    def shown_problems(self) -> list[str]:
        """The first few problems, then how many more there are."""
        more = len(self.problems) - MAX_PROBLEMS_SHOWN
        return self.problems[:MAX_PROBLEMS_SHOWN] + ([f"... and {more} more"] if more > 0 else [])


class SoftDeleteRefused(CatalogChangeRefused):
    pass


class RestoreRefused(CatalogChangeRefused):
    pass


def describe_row(row: CatalogRecord) -> str:
    """How a row is named in messages: kind, name and id."""
    kind = row._meta.verbose_name
    if isinstance(row, ItemVariant):
        return f'{kind} #{row.pk} ("{row}")'
    return f'{kind} "{row}" (id {row.pk})'


@transaction.atomic
def soft_delete(*, rows: QuerySet) -> int:
    """Soft-delete the selected rows; returns how many were live before.

    Rows already deleted are left as they are (their ``deleted_at`` keeps the
    first deletion time). Refuses the whole selection, changing nothing, when
    an item, color or size in it still has live variants.

    The rows are locked ``FOR UPDATE`` first: an importer inserting a variant
    of one of them waits for this transaction (its foreign-key check needs a
    share lock on the row), so no live variant can appear between the check
    and the delete.
    """
    model = rows.model
    live = list(_locked(model, rows).filter(deleted_at__isnull=True))
    if not live:
        return 0
    link = VARIANT_LINKS.get(model)
    if link is not None:
        in_use = dict(
            ItemVariant.objects.filter(**{f"{link}__in": [row.pk for row in live]})
            .values_list(link)
            .annotate(count=Count("pk"))
            .values_list(link, "count")
        )
        problems = [
            f"Cannot delete {describe_row(row)}: it still has {in_use[row.pk]} active variant(s). "
            f"Delete those variants first."
            for row in live
            if row.pk in in_use
        ]
        if problems:
            raise SoftDeleteRefused(problems)
    now = timezone.now()
    return model.all_objects.filter(pk__in=[row.pk for row in live]).update(deleted_at=now, updated_at=now)


@transaction.atomic
def restore(*, rows: QuerySet) -> int:
    """Restore the selected deleted rows; returns how many were restored.

    Rows already live are left as they are. Refuses the whole selection,
    changing nothing, when a row's key is taken by a live row, when two
    selected rows share a key, or when a variant's item, color or size is
    deleted. A live twin written concurrently (after the checks) is caught by
    the partial unique index and reported the same way.
    """
    model = rows.model
    deleted = list(_locked(model, rows).filter(deleted_at__isnull=False))
    if not deleted:
        return 0
    problems = _twin_problems(model, deleted) + _selection_clash_problems(deleted) + _lookalike_problems(deleted)
    if model is ItemVariant:
        problems += _deleted_master_problems(deleted)
    if problems:
        raise RestoreRefused(problems)
    try:
        with transaction.atomic():
            return model.all_objects.filter(pk__in=[row.pk for row in deleted]).update(
                deleted_at=None, updated_at=timezone.now()
            )
    except IntegrityError as error:
        raise RestoreRefused(
            [f"Cannot restore: a live {model._meta.verbose_name} with the same key was just saved ({error})."]
        ) from error


def _locked(model, rows: QuerySet) -> QuerySet:
    """All rows of the selection, deleted or not, locked in primary-key order.

    ``rows`` may come from the live-only manager; the selection is re-read
    through ``all_objects`` so a restore sees the deleted rows it was given.
    Variants are read with their item, color and size, and those are locked
    too: a concurrent soft delete of the item then waits, and sees the
    restored variant, instead of both passing their checks.
    """
    pks = list(rows.values_list("pk", flat=True))
    related = ("item", "color", "size") if model is ItemVariant else ()
    return model.all_objects.select_related(*related).select_for_update().filter(pk__in=pks).order_by("pk")


def _key(row: CatalogRecord) -> tuple:
    return tuple(getattr(row, _attname(row, field)) for field in row.key_fields)


def _attname(row: CatalogRecord, name: str) -> str:
    return concrete_field(type(row), name).attname


def _key_filter(model, keys: set[tuple]) -> Q:
    columns = [model._meta.get_field(field).attname for field in model.key_fields]
    condition = Q(pk__in=[])
    for key in keys:
        condition |= Q(**dict(zip(columns, key, strict=True)))
    return condition


def _twin_problems(model, deleted: list[CatalogRecord]) -> list[str]:
    keys = list({_key(row) for row in deleted})
    related = ("item", "color", "size") if model is ItemVariant else ()
    twins: dict[tuple, CatalogRecord] = {}
    for start in range(0, len(keys), 500):
        chunk = set(keys[start : start + 500])
        for twin in model.objects.select_related(*related).filter(_key_filter(model, chunk)):
            twins.setdefault(_key(twin), twin)
    what = "the same item, color and size" if model is ItemVariant else "the same name"
    return [
        f"Cannot restore {describe_row(row)}: the active {describe_row(twins[_key(row)])} has {what}. "
        f"Rename or delete the active one first."
        for row in deleted
        if _key(row) in twins
    ]


def _lookalike_problems(deleted: list[CatalogRecord]) -> list[str]:
    problems = []
    for row in deleted:
        problem = lookalike_problem(row=row)
        if problem:
            problems.append(f"Cannot restore {describe_row(row)}: {problem}.")
    return problems


def _selection_clash_problems(deleted: list[CatalogRecord]) -> list[str]:
    counts = Counter(_key(row) for row in deleted)
    clashing = [row for row in deleted if counts[_key(row)] > 1]
    groups: dict[tuple, list[CatalogRecord]] = {}
    for row in clashing:
        groups.setdefault(_key(row), []).append(row)
    return [
        "Cannot restore "
        + " and ".join(describe_row(row) for row in group)
        + " together: they share one key and only one can be active. Restore one of them."
        for group in groups.values()
    ]


def _deleted_master_problems(variants: list[ItemVariant]) -> list[str]:
    problems = []
    for variant in variants:
        dead = [master for master in (variant.item, variant.color, variant.size) if not master.is_live]
        if dead:
            names = ", ".join(describe_row(master) for master in dead)
            problems.append(f"Cannot restore {describe_row(variant)}: its {names} is deleted. Restore it first.")
    return problems
