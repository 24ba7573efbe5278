"""Resolving live duplicate keys: the migration guide's "Common issue 1".

The partial unique indexes cannot be built while two live rows share a key,
and the importer's ``ON CONFLICT`` needs them. For every duplicate key the row
with the lowest id is kept as it is (it is the original, and what the guide's
SQL keeps); the others are resolved by one of two strategies:

``rename``
    The guide's ``name || ' (duplicate-' || id || ')'``: the extra rows stay
    live under a new name, with their variants. Nothing is lost; someone
    tidies up by hand later. The base name is shortened when the suffix
    would not fit the column.

``merge``
    The extra rows' live variants move to the kept row. Where the kept row
    already has a live variant in that color and size (its own, or one moved
    earlier in the same run), that variant is kept and the moved one is
    soft-deleted. The extra rows are then soft-deleted. Their deleted
    variants stay with them, as history.

Variants have no name to rename and nothing hangs off them to merge, so for
variant duplicates both strategies do the same thing: keep the lowest id and
soft-delete the others (restorable in the admin).

Everything runs in one transaction; a dry run does all of it, reports it, and
rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from catalog import services
from catalog.models import ItemVariant
from catalog.selectors import MASTERS, DuplicateKey, find_duplicates, variant_key_labels
from mtc.commands import command_line

STRATEGIES = ("rename", "merge")


class DuplicateResolutionError(Exception):
    """The duplicates cannot be resolved as asked; nothing was changed."""


@dataclass
class KeyResolution:
    """What was done about one duplicate key, in words for the operator."""

    master: str
    duplicate: DuplicateKey
    label: str
    steps: list[str] = field(default_factory=list)

    @property
    def kept_id(self) -> int:
        return self.duplicate.ids[0]

    def heading(self) -> str:
        ids = ", ".join(f"#{pk}" for pk in self.duplicate.ids)
        return f"{self.master} {self.label}: {self.duplicate.count} live rows ({ids}), keeping #{self.kept_id}"


@dataclass
class Resolution:
    strategy: str
    dry_run: bool
    keys: list[KeyResolution] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.keys)


def resolve_command(master: str | None = None) -> str:
    """The command line that resolves one master's duplicates (all masters' without one)."""
    only = f" --model {master}" if master else ""
    return command_line(f"resolve_duplicates{only} --strategy rename|merge (add --dry-run to preview)")


def fix_command(master: str) -> str:
    """What to run when a master's duplicates block its unique index."""
    return command_line(f"find_duplicates --model {master}") + f", then {resolve_command(master)}"


def duplicate_name(name: str, *, row_id: int, max_length: int) -> str:
    """The guide's ``name (duplicate-ID)``, the name shortened so that it fits ``max_length``."""
    suffix = f" (duplicate-{row_id})"
    return f"{name[: max_length - len(suffix)].rstrip()}{suffix}"


@transaction.atomic
def resolve_duplicates(*, strategy: str, masters: list[str] | None = None, dry_run: bool = False) -> Resolution:
    """Resolve the live duplicate keys of the named masters (all four by default).

    Masters are handled in the order item, color, size, variant, so that
    variant duplicates are looked for after merges have moved variants.
    """
    if strategy not in STRATEGIES:
        raise DuplicateResolutionError(f"Unknown strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    names = [name for name in MASTERS if masters is None or name in masters]
    resolution = Resolution(strategy=strategy, dry_run=dry_run)
    for name in names:
        model = MASTERS[name]
        duplicates = find_duplicates(model=model)
        labels = _labels(model, duplicates)
        for duplicate in duplicates:
            key = KeyResolution(master=name, duplicate=duplicate, label=labels[tuple(duplicate.key.values())])
            _lock(model, duplicate.ids)
            if model is ItemVariant:
                _drop_extra_variants(key)
            elif strategy == "rename":
                _rename(model, key)
            else:
                _merge(model, key)
            resolution.keys.append(key)
    if dry_run:
        transaction.set_rollback(True)
    return resolution


def _labels(model, duplicates: list[DuplicateKey]) -> dict[tuple, str]:
    if model is ItemVariant:
        return variant_key_labels(duplicates)
    return {tuple(d.key.values()): " ".join(repr(value) for value in d.key.values()) for d in duplicates}


def _lock(model, ids: list[int]) -> None:
    """Lock the rows of one key: a concurrent importer writing a variant of them waits."""
    list(model.all_objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))


def _rename(model, key: KeyResolution) -> None:
    name_field = model.name_fields[0]
    max_length = model._meta.get_field(name_field).max_length
    for row_id in key.duplicate.ids[1:]:
        old = str(key.duplicate.key[model._meta.get_field(name_field).column])
        new = duplicate_name(old, row_id=row_id, max_length=max_length)
        taken = model.objects.filter(**{name_field: new}).exclude(pk=row_id).first()
        if taken is not None:
            raise DuplicateResolutionError(
                f"Cannot rename {key.master} #{row_id} to {new!r}: live {key.master} #{taken.pk} "
                f"already has that name. Rename one of them by hand, or use --strategy merge."
            )
        model.all_objects.filter(pk=row_id).update(**{name_field: new}, updated_at=timezone.now())
        key.steps.append(f"renamed {key.master} #{row_id}: {old!r} -> {new!r}")


def _merge(model, key: KeyResolution) -> None:
    link = services.VARIANT_LINKS[model]
    survivor_id, *others = key.duplicate.ids
    taken: dict[tuple, int] = {}
    for variant_id, *variant_key in ItemVariant.objects.filter(**{f"{link}_id": survivor_id}).values_list(
        "pk", "item_id", "color_id", "size_id"
    ):
        taken.setdefault(tuple(variant_key), variant_id)
    for other_id in others:
        moved, dropped = [], []
        variants = ItemVariant.objects.select_related("item", "color", "size").filter(**{f"{link}_id": other_id})
        for variant in variants.order_by("pk"):
            target = tuple(
                survivor_id if column == link else getattr(variant, f"{column}_id")
                for column in ("item", "color", "size")
            )
            if target in taken:
                dropped.append(variant.pk)
                key.steps.append(
                    f"soft-deleted variant #{variant.pk} ({variant}) of {key.master} #{other_id}: "
                    f"#{survivor_id} already has live variant #{taken[target]} with that key, which is kept"
                )
            else:
                moved.append(variant.pk)
                taken[target] = variant.pk
                key.steps.append(
                    f"moved variant #{variant.pk} ({variant}) from {key.master} #{other_id} to #{survivor_id}"
                )
        now = timezone.now()
        ItemVariant.all_objects.filter(pk__in=moved).update(**{f"{link}_id": survivor_id}, updated_at=now)
        ItemVariant.all_objects.filter(pk__in=dropped).update(deleted_at=now, updated_at=now)
        services.soft_delete(rows=model.all_objects.filter(pk=other_id))
        key.steps.append(f"soft-deleted {key.master} #{other_id}: merged into #{survivor_id}")


def _drop_extra_variants(key: KeyResolution) -> None:
    extra = key.duplicate.ids[1:]
    services.soft_delete(rows=ItemVariant.all_objects.filter(pk__in=extra))
    for variant_id in extra:
        key.steps.append(f"soft-deleted variant #{variant_id}: duplicate of variant #{key.kept_id}, which is kept")
