"""Read-only questions about the catalog.

Duplicate detection is the migration guide's "Common issue 1" query,
generalised to every master: live rows (``deleted_at IS NULL``) that share a
key the partial unique indexes require to be unique.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections

from catalog.models import Color, Item, ItemVariant, Size

#: The masters by the short name the commands take (``--model item``).
MASTERS = {"item": Item, "color": Color, "size": Size, "variant": ItemVariant}


@dataclass(frozen=True)
class DuplicateKey:
    """One key held by more than one live row, with their ids (lowest first)."""

    key: dict[str, object]
    ids: list[int]

    @property
    def count(self) -> int:
        return len(self.ids)

    def describe(self) -> str:
        key = ", ".join(f"{column}={value!r}" for column, value in self.key.items())
        return f"{key} (ids {', '.join(map(str, self.ids))})"


def key_columns(model) -> list[str]:
    """The database columns of a master's unique live key."""
    return [model._meta.get_field(name).column for name in model.key_fields]


def duplicate_keys_in_table(
    *, table: str, pk_column: str, columns: list[str], using: str = "default"
) -> list[DuplicateKey]:
    """Live duplicate keys of one table, by raw table and column names.

    Takes names rather than a model so that a migration (which only has the
    historical model) can ask before it builds an index.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    cols = ", ".join(quote(c) for c in columns)
    sql = (
        f"SELECT {cols}, {quote(pk_column)} FROM {quote(table)} "
        f"WHERE deleted_at IS NULL AND ({cols}) IN ("
        f"  SELECT {cols} FROM {quote(table)} WHERE deleted_at IS NULL"
        f"  GROUP BY {cols} HAVING COUNT(*) > 1"
        f") ORDER BY {cols}, {quote(pk_column)}"
    )
    duplicates: list[DuplicateKey] = []
    with connection.cursor() as cursor:
        cursor.execute(sql)
        for *key_values, pk in cursor.fetchall():
            key = dict(zip(columns, key_values, strict=True))
            if duplicates and duplicates[-1].key == key:
                duplicates[-1].ids.append(pk)
            else:
                duplicates.append(DuplicateKey(key=key, ids=[pk]))
    return duplicates


def find_duplicates(*, model, using: str = "default") -> list[DuplicateKey]:
    """Live duplicate keys of a master model."""
    return duplicate_keys_in_table(
        table=model._meta.db_table,
        pk_column=model._meta.pk.column,
        columns=key_columns(model),
        using=using,
    )


def find_duplicates_by_master(*, masters: list[str] | None = None) -> dict[str, list[DuplicateKey]]:
    """Live duplicate keys of each named master (all four by default), in ``MASTERS`` order."""
    names = masters or list(MASTERS)
    unknown = sorted(set(names) - set(MASTERS))
    if unknown:
        raise ValueError(f"Unknown master(s) {', '.join(unknown)}: expected one of {', '.join(MASTERS)}")
    return {name: find_duplicates(model=MASTERS[name]) for name in MASTERS if name in names}


def variant_key_labels(duplicates: list[DuplicateKey]) -> dict[tuple[int, int, int], str]:
    """``item / color / size`` names for variant duplicate keys, three queries in all.

    Variant keys are ids; an operator deciding which row to keep needs the
    names. Deleted masters are named too (a variant may point at one).
    """
    wanted = {column: {d.key[column] for d in duplicates} for column in ("item_id", "color_id", "size_id")}
    names = {
        "item_id": dict(Item.all_objects.filter(pk__in=wanted["item_id"]).values_list("pk", "name")),
        "color_id": dict(Color.all_objects.filter(pk__in=wanted["color_id"]).values_list("pk", "color_name")),
        "size_id": dict(Size.all_objects.filter(pk__in=wanted["size_id"]).values_list("pk", "size_name")),
    }
    labels = {}
    for duplicate in duplicates:
        key = (duplicate.key["item_id"], duplicate.key["color_id"], duplicate.key["size_id"])
        labels[key] = " / ".join(
            f"{names[column].get(duplicate.key[column], '?')} (#{duplicate.key[column]})"
            for column in ("item_id", "color_id", "size_id")
        )
    return labels


def find_live_twin(*, row):
    """Another live row holding ``row``'s key, or None (the check before saving or restoring)."""
    key = {
        row._meta.get_field(name).attname: getattr(row, row._meta.get_field(name).attname) for name in row.key_fields
    }
    return type(row).objects.filter(**key).exclude(pk=row.pk).order_by("pk").first()
