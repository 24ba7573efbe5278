"""What each kind of import file holds: its fields, aliases and key.

Lengths come from the catalog models so the schema has one source of truth.
A field's ``type`` says how ``rows`` reads its cells:

``name``   a key (item, color or size name): normalised by ``catalog.keys``
``text``   free text (description): trimmed, line breaks kept
``code``   one-line text (sku): trimmed
``price``  a non-negative decimal with at most 2 decimal places, or empty
``count``  a non-negative whole number, or empty
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.models import Color, Item, ItemVariant, Size

FIELD_TYPES = ("name", "text", "code", "price", "count")


@dataclass(frozen=True)
class FieldSpec:
    """One column an import file may carry."""

    name: str
    #: How the cell is read: one of :data:`FIELD_TYPES`.
    type: str
    required: bool = False
    #: Longest value accepted, in characters (after normalisation); None: no limit.
    max_length: int | None = None
    #: Other headers accepted for this field (already in ``canonical_header`` form).
    aliases: tuple[str, ...] = ()

    def __post_init__(self):
        if self.type not in FIELD_TYPES:
            raise ValueError(f"{self.name}: unknown field type {self.type!r}")


@dataclass(frozen=True)
class KindSpec:
    """One kind of import (variants, items, colors, sizes): its columns, in order, and its key."""

    name: str
    fields: tuple[FieldSpec, ...]
    #: The fields whose values identify a row (one live master row per key).
    key: tuple[str, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.fields if field.required)

    def field(self, name: str) -> FieldSpec:
        return next(field for field in self.fields if field.name == name)


def _length(model, field: str) -> int:
    return model._meta.get_field(field).max_length


ITEM_NAME = FieldSpec("item_name", "name", required=True, max_length=_length(Item, "name"), aliases=("item",))
DESCRIPTION = FieldSpec("description", "text")
COLOR_NAME = FieldSpec("color_name", "name", required=True, max_length=_length(Color, "color_name"), aliases=("color",))
SIZE_NAME = FieldSpec("size_name", "name", required=True, max_length=_length(Size, "size_name"), aliases=("size",))

KINDS: dict[str, KindSpec] = {
    "variants": KindSpec(
        name="variants",
        fields=(
            ITEM_NAME,
            DESCRIPTION,
            COLOR_NAME,
            SIZE_NAME,
            FieldSpec("sku", "code", max_length=_length(ItemVariant, "sku")),
            FieldSpec("price", "price"),
            FieldSpec("stock", "count"),
        ),
        key=("item_name", "color_name", "size_name"),
    ),
    "items": KindSpec(
        name="items",
        fields=(
            FieldSpec("name", "name", required=True, max_length=_length(Item, "name"), aliases=("item_name", "item")),
            DESCRIPTION,
        ),
        key=("name",),
    ),
    "colors": KindSpec(name="colors", fields=(COLOR_NAME,), key=("color_name",)),
    "sizes": KindSpec(name="sizes", fields=(SIZE_NAME,), key=("size_name",)),
}


def get_kind(name: str) -> KindSpec:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"Unknown import kind {name!r}: expected one of {', '.join(KINDS)}.") from None
