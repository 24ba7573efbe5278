"""Read-only questions about the catalog.

Live rows by natural key (``live_rows``) are how the import preview and the
comparison of importers see the catalog: keyed by names, as files are.

Duplicate detection is the migration guide's "Common issue 1" query,
generalised to every master: live rows (``deleted_at IS NULL``) that share a
key the partial unique indexes require to be unique.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import connections, transaction
from django.db.models import Count, F, Window
from django.db.models.functions import Left, RowNumber

from catalog.kinds import Kind
from catalog.models import Color, Item, ItemVariant, Size

#: The ``?status=`` values of the catalog lists (as the admin's status filter).
STATUSES = (("active", "Active (not deleted)"), ("deleted", "Deleted (can be restored)"), ("all", "All"))


# --- Querysets: live rows unless asked otherwise --------------------------------------------


def rows_by_status(*, model, status: str):
    """``model``'s rows for a status filter value: active (default), deleted or all."""
    rows = model.all_objects.all()
    if status == "deleted":
        return rows.filter(deleted_at__isnull=False)
    if status == "all":
        return rows
    return rows.filter(deleted_at__isnull=True)


def variant_rows(*, status: str = "active"):
    """Variants by ``status``, each with its item's, color's and size's names (``item_name``, ...) annotated.

    Annotations rather than ``select_related``: three model instances fewer
    per row, and the item's description is not read (a list of 200 variants
    spent more time building them than answering).
    """
    return rows_by_status(model=ItemVariant, status=status).annotate(
        item_name=F("item__name"), color_name=F("color__color_name"), size_name=F("size__size_name")
    )


def item_rows(*, status: str = "active", text: int | None = None):
    """Items by ``status``; their variants come from :func:`with_variants`, once the page is known.

    ``text``: the description is not read whole, only its first ``text``
    characters, as ``description_head`` (a list's page stays small however
    long a stored description is).
    """
    items = rows_by_status(model=Item, status=status)
    if text is not None:
        items = items.defer("description").annotate(description_head=Left("description", text))
    return items


#: Three letters or digits in a row: the least a ``?name=`` term needs for the trigram indexes to find its matches.
_TRIGRAM = re.compile(r"[^\W_]{3}")


def trigram_searchable(term: str) -> bool:
    """Whether the trigram indexes on upper-case names can find the names containing ``term``.

    ``pg_trgm`` takes its trigrams from runs of letters and digits: a term
    without three of them in a row (``q``, ``xs``, ``a b``) gives it none,
    and every name has to be read.
    """
    return bool(_TRIGRAM.search(term))


@contextmanager
def name_search_plan(term: str | None, *, of_live_items: bool, using: str = "default") -> Iterator[None]:
    """Around a list's count and page when it is filtered by ``?name=``: PostgreSQL finds the names by index.

    Measured at 100,000 items (1,000,000 variants), the planner's own choices
    read the items' table and upper-case each name, 0.3 µs a row:

    * a term the trigram indexes serve (:func:`trigram_searchable`) but
      PostgreSQL expects to match often was looked for row by row in the
      table's order: the variants of ``?name=shirt 99``, whose matches are
      at the end of the table, took 28 ms to count, 0.8 ms from the
      trigram index. Sequential scans are off, so the trigram index or the
      list's ordering index finds them;
    * a term no trigram serves (``q``, ``xs``) is compared with every
      name: 27 ms from the table, 12 ms walking
      ``item_master_live_name_upper``, which holds each live name already
      upper-cased (index-only), a walk the planner does not foresee (it
      prices the index's pages as random reads and its ``UPPER`` as computed
      again). Bitmap scans are off too (the trigram index would be read
      whole), which leaves that walk. That index holds live items only: a
      list whose names are not only those (``of_live_items`` false: the
      variants' item names, deleted items included) has no such walk, and
      for such a term reading the table stays its best plan (27 ms; from
      the primary key's order 32 ms), so it is left as it is.

    ``SET LOCAL``, in a transaction of their own: only these statements are
    concerned (inside a transaction already, the settings are put back as
    they were when they are done). Nothing changes on SQLite or without a
    term.
    """
    connection = connections[using]
    trigrams = bool(term) and trigram_searchable(term or "")
    if not term or connection.vendor != "postgresql" or not (trigrams or of_live_items):
        yield
        return
    names = ["enable_seqscan"] if trigrams else ["enable_seqscan", "enable_bitmapscan"]
    nested = connection.in_atomic_block
    with transaction.atomic(using=using), connection.cursor() as cursor:
        previous = {}
        if nested:  # SET LOCAL would outlive this block, until the enclosing transaction ends
            cursor.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in names))
            previous = dict(zip(names, cursor.fetchone(), strict=True))
        for name in names:
            cursor.execute(f"SET LOCAL {name} = off")
        yield
        for name, value in previous.items():
            cursor.execute(f"SELECT set_config('{name}', %s, true)", [value])


#: The columns of a variant as its item shows it (:func:`with_variants`), its color's and size's names included.
LISTED_VARIANT_COLUMNS = (
    "variant_id",
    "color_id",
    "color_name",
    "size_id",
    "size_name",
    "sku",
    "price",
    "stock",
    "deleted_at",
)


def with_variants(items: list[Item], *, status: str = "active", first: int | None = None) -> list[Item]:
    """``items``, each given its variants as plain rows (``listed_variants``) and how many it has (``variant_count``).

    One query for all of them, run once a page of items is known. The rows are
    dicts of :data:`LISTED_VARIANT_COLUMNS`, ordered by color and size name:
    an item's variants are a list's bulk (500 of a page of 50 items), and
    model instances for them, their colors and their sizes were most of the
    time of ``/api/items/`` at a million variants. Live variants for
    ``status`` active, all of them otherwise (a deleted item's variants are
    deleted too). ``first``: at most this many of each item's variants (a
    window in the same query, which also counts them all).
    """
    nested_status = "active" if status in ("", "active") else "all"
    order = ("color__color_name", "size__size_name", "variant_id")
    rows = (
        rows_by_status(model=ItemVariant, status=nested_status)
        .filter(item_id__in=[item.pk for item in items])
        .annotate(
            color_name=F("color__color_name"),
            size_name=F("size__size_name"),
            siblings=Window(Count("*"), partition_by=[F("item_id")]),
        )
    )
    if first is not None:
        rows = rows.annotate(
            place=Window(RowNumber(), partition_by=[F("item_id")], order_by=[F(name).asc() for name in order])
        ).filter(place__lte=first)
    listed: dict[int, list[dict]] = {item.pk: [] for item in items}
    counts: dict[int, int] = {}
    for row in rows.order_by("item_id", *order).values("item_id", "siblings", *LISTED_VARIANT_COLUMNS):
        item_id = row.pop("item_id")
        counts[item_id] = row.pop("siblings")
        listed[item_id].append(row)
    for item in items:
        item.listed_variants = listed[item.pk]  # type: ignore[attr-defined]  # what the serializers read
        item.variant_count = counts.get(item.pk, 0)  # type: ignore[attr-defined]
    return items


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
    keys = [(_row_id(d.key["item_id"]), _row_id(d.key["color_id"]), _row_id(d.key["size_id"])) for d in duplicates]
    wanted = [{key[position] for key in keys} for position in range(3)]
    names: list[dict[int, str]] = [
        dict(Item.all_objects.filter(pk__in=wanted[0]).values_list("pk", "name")),
        dict(Color.all_objects.filter(pk__in=wanted[1]).values_list("pk", "color_name")),
        dict(Size.all_objects.filter(pk__in=wanted[2]).values_list("pk", "size_name")),
    ]
    labels: dict[tuple[int, int, int], str] = {}
    for key in keys:
        labels[key] = " / ".join(f"{names[position].get(pk, '?')} (#{pk})" for position, pk in enumerate(key))
    return labels


def _row_id(value: object) -> int:
    if not isinstance(value, int):
        raise TypeError(f"expected a row id, found {value!r}")
    return value


def find_live_twin(*, row):
    """Another live row holding ``row``'s key, or None (the check before saving or restoring)."""
    key = {
        row._meta.get_field(name).attname: getattr(row, row._meta.get_field(name).attname) for name in row.key_fields
    }
    return type(row).objects.filter(**key).exclude(pk=row.pk).order_by("pk").first()


def live_rows(
    *, kind: Kind, keys: Iterable[tuple] | None = None, written_since: datetime | None = None
) -> dict[tuple, tuple]:
    """The live rows of ``kind``'s master as ``{key: values}``, both in the kind's column order.

    A key is the row's names (``("Oxford Shirt", "Navy", "M")`` for a
    variant: its live item's, color's and size's), the values are the
    kind's own value columns (``kind.values``: sku, price, stock). Only
    ``keys`` when given (a few queries whatever their number), only rows
    changed at or after ``written_since`` when given.
    """
    key_paths = [kind.column(name).path for name in kind.key]
    value_paths = [kind.column(name).path for name in kind.values]
    rows = kind.master.model.objects.filter(
        **{f"{parent.relation}__deleted_at__isnull": True for parent in kind.parents}
    )
    if written_since is not None:
        rows = rows.filter(updated_at__gte=written_since)
    wanted = None
    if keys is not None:
        wanted = set(keys)
        if not wanted:
            return {}
        for position, path in enumerate(key_paths):
            rows = rows.filter(**{f"{path}__in": {key[position] for key in wanted}})
    found = {}
    for row in rows.values_list(*key_paths, *value_paths).iterator(chunk_size=2000):
        key = tuple(row[: len(key_paths)])
        if wanted is None or key in wanted:
            found[key] = tuple(row[len(key_paths) :])
    return found
