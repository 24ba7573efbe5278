"""What each kind of catalog file means: its table, key and columns, derived from the models.

A *kind* is one sort of spreadsheet row: a variants file, an items file, a
colors file, a sizes file. Everything that reads or writes such files asks
this registry, never a list of its own: the importer (which headers a file
may carry, how a cell is read, which table a row writes, its natural key,
what an update may change and what a new row gets for a column the file
lacks), the legacy importer, the import preview, the comparison of
importers, the exports, and the kind choices of every door.

Only the list of kinds at the bottom is declared by hand. The rest is read
from the catalog models' ``_meta``, so adding a field to a master adds a
column to every file that writes it, and adding a kind is one registration:

* a kind writes one master (its model). Its row key is ``model.key_fields``;
  a key field that is a foreign key names its parent master by the parent's
  own natural key, in a column ``<relation>_name`` (``item_name``,
  ``color_name``, ``size_name``). Parents are created as rows need them;
* the other editable concrete fields of the model are its *values*: the
  columns an update may change, under their own names, in model order. A
  kind with parents also carries its parents' values (a variants file
  carries the item's ``description``);
* a value column the file lacks is never written; a new row gets the
  field's *absent* value: NULL when the field is nullable, else its default;
* how a cell is read follows the field: a master's name is a ``name``
  (normalised, matched exactly), a ``TextField`` is ``text`` (line breaks
  kept), any other text field is a one-line ``code``, a ``DecimalField`` a
  non-negative ``decimal`` within its digits and places, an integer field a
  non-negative whole ``count``;
* a master's name column is also accepted under the model's name and
  ``<model>_name`` (``item``, ``item_name``), so ``item`` works wherever an
  item is named.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.utils.text import capfirst

from catalog.models import CatalogRecord, Color, Item, ItemVariant, Size

#: How a column's cells are read (see the module docstring and ``imports.engine.rows``).
COLUMN_TYPES = ("name", "text", "code", "decimal", "count")
#: Fields every master has for bookkeeping; never a column of a file.
BOOKKEEPING = frozenset({"created_at", "updated_at", "deleted_at"})


class UnknownKind(ValueError):
    """A kind name that is not registered."""


@dataclass(frozen=True)
class Master:
    """A master table as the bulk writers see it."""

    model: type[CatalogRecord]
    table: str
    pk: str
    #: Database columns of the natural key (one live row per key).
    key: tuple[str, ...]
    #: Updatable database columns -> the value a new row gets when the file lacks the column.
    values: dict[str, object]

    @classmethod
    def of(cls, model: type[CatalogRecord]) -> Master:
        return cls(
            model=model,
            table=model._meta.db_table,
            pk=_column(concrete_field(model, model._meta.pk.name)),
            key=tuple(_column(concrete_field(model, name)) for name in model.key_fields),
            values={_column(f): _absent(f) for f in _value_fields(model)},
        )

    @property
    def name_column(self) -> str:
        """The database column of a master keyed by one name (items, colors, sizes)."""
        (column,) = self.key
        return column


@dataclass(frozen=True)
class Column:
    """One column a kind's file may carry."""

    #: The header in this project's files (and the staging column's name).
    name: str
    #: How the cell is read: one of :data:`COLUMN_TYPES`.
    type: str
    #: The master whose table the value lands in, and its database column there.
    master: Master
    db_column: str
    #: The ORM path from the kind's model to the value (``item__name``), for reads and exports.
    path: str
    #: What people call it (``Item name``, ``SKU``): the model's verbose names.
    label: str = ""
    required: bool = False
    #: Longest text accepted, in characters (after normalisation); None: no limit.
    max_length: int | None = None
    #: Digits and decimal places of a ``decimal`` column.
    max_digits: int | None = None
    decimal_places: int | None = None
    #: Other headers accepted for this column (in ``canonical_header`` form).
    aliases: tuple[str, ...] = ()

    def __post_init__(self):
        if self.type not in COLUMN_TYPES:
            raise ValueError(f"{self.name}: unknown column type {self.type!r}")

    @property
    def max_value(self) -> Decimal | None:
        """The largest value a ``decimal`` column stores (``9999999999.99`` for 12 digits, 2 places)."""
        if self.max_digits is None or self.decimal_places is None:
            return None
        return Decimal(10) ** (self.max_digits - self.decimal_places) - Decimal(10) ** -self.decimal_places


@dataclass(frozen=True)
class Parent:
    """A master that a kind's rows name by its natural key (a variant's item, color or size)."""

    #: The foreign key's name on the kind's model (``item``) and its database column (``item_id``).
    relation: str
    fk_column: str
    master: Master
    #: The file column naming it (``item_name``).
    column: str
    #: The parent's value columns a file of this kind carries (``description`` for items).
    values: tuple[str, ...]


@dataclass(frozen=True)
class Kind:
    """One kind of catalog file: the master it writes, its columns in order, its row key."""

    name: str
    label: str
    master: Master
    columns: tuple[Column, ...]
    #: The columns whose values identify a row (one live row per key).
    key: tuple[str, ...]
    #: The masters the rows name by key, in the order they are written (none for items, colors, sizes).
    parents: tuple[Parent, ...] = ()

    @classmethod
    def of(cls, model: type[CatalogRecord], *, name: str, label: str) -> Kind:
        master = Master.of(model)
        key_columns: list[Column] = []
        parents: list[Parent] = []
        parent_values: list[Column] = []
        for field_name in model.key_fields:
            model_field = concrete_field(model, field_name)
            if model_field.is_relation:
                parent = Master.of(model_field.related_model)  # type: ignore[arg-type]  # a CatalogRecord
                naming = _name_column(parent, name=f"{field_name}_name", path=f"{field_name}__")
                key_columns.append(naming)
                carried = [
                    _value_column(parent, f, path=f"{field_name}__{f.name}") for f in _value_fields(parent.model)
                ]
                parent_values += carried
                parents.append(
                    Parent(field_name, _column(model_field), parent, naming.name, tuple(c.name for c in carried))
                )
            else:
                key_columns.append(_name_column(master, name=field_name, path=""))
        own_values = [_value_column(master, f, path=f.name) for f in _value_fields(model)]
        columns = (*key_columns, *parent_values, *own_values)
        names = [column.name for column in columns]
        if len(set(names)) != len(names):
            raise ValueError(f"Kind {name!r}: two columns share a name in {names}")
        return cls(
            name=name,
            label=label,
            master=master,
            columns=_file_order(columns),
            key=tuple(column.name for column in key_columns),
            parents=tuple(parents),
        )

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.required)

    @property
    def values(self) -> tuple[str, ...]:
        """The columns of the kind's own master an update may change (``sku, price, stock``)."""
        return tuple(c.name for c in self.columns if c.master is self.master and c.name not in self.key)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} files have no column {name!r}")

    def parent(self, relation: str) -> Parent:
        return next(parent for parent in self.parents if parent.relation == relation)


class KindRegistry:
    """The kinds by name, in the order doors offer them (the first is the default).

    A kind is declared with its model, name and label, and derived from the
    model's ``_meta`` when first used (models may not be loaded when the
    declaration runs); :meth:`refresh` derives every kind again.
    """

    def __init__(self) -> None:
        self._declared: dict[str, tuple[type[CatalogRecord], str]] = {}
        self._derived: dict[str, Kind] = {}

    def register(self, model: type[CatalogRecord], *, name: str, label: str) -> None:
        """Declare a kind of file that writes ``model`` (or declare it again, replacing it)."""
        self._declared[name] = (model, label)
        self._derived.pop(name, None)

    def unregister(self, name: str) -> None:
        self._declared.pop(name, None)
        self._derived.pop(name, None)

    def refresh(self) -> None:
        """Derive every kind again from its model (after a model gained or lost a field)."""
        self._derived.clear()

    def get(self, name: str) -> Kind:
        if name not in self._declared:
            raise UnknownKind(f"Unknown import kind {name!r}: expected one of {', '.join(self._declared)}.")
        if name not in self._derived:
            model, label = self._declared[name]
            self._derived[name] = Kind.of(model, name=name, label=label)
        return self._derived[name]

    def names(self) -> list[str]:
        return list(self._declared)

    def choices(self) -> list[tuple[str, str]]:
        return [(name, label) for name, (_, label) in self._declared.items()]

    @property
    def default(self) -> str:
        return next(iter(self._declared))

    def masters(self) -> list[Master]:
        """Every master a kind writes, once, in the order imports write them (parents first)."""
        found: dict[str, Master] = {}
        for kind in self:
            for master in (*(parent.master for parent in kind.parents), kind.master):
                found.setdefault(master.table, master)
        return list(found.values())

    def __iter__(self) -> Iterator[Kind]:
        return iter([self.get(name) for name in list(self._declared)])

    def __contains__(self, name: object) -> bool:
        return name in self._declared


def kind_choices() -> list[tuple[str, str]]:
    """Choices of ``ImportJob.kind`` (a callable, so a kind registered later is a valid choice)."""
    return KINDS.choices()


# --- derivation -----------------------------------------------------------------------------


def concrete_field(model: type[models.Model], name: str) -> models.Field:
    """The model's field called ``name``, which must be a field with a column (not a reverse relation)."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or field.column is None:
        raise ValueError(f"{model.__name__}.{name} is not a field with a database column")
    return field


def _column(field: models.Field) -> str:
    assert field.column is not None  # concrete_field and concrete_fields guarantee it
    return field.column


def _value_fields(model: type[models.Model]) -> list[models.Field]:
    key = set(getattr(model, "key_fields", ()))
    return [
        f
        for f in model._meta.concrete_fields
        if f.editable and not f.primary_key and not f.is_relation and f.name not in key and f.name not in BOOKKEEPING
    ]


def _absent(model_field: models.Field) -> object:
    return None if model_field.null else model_field.get_default()


def _name_column(master: Master, *, name: str, path: str) -> Column:
    model = master.model
    key_field = concrete_field(model, model.key_fields[0])
    model_name = str(model._meta.model_name)
    aliases = tuple(alias for alias in (f"{model_name}_name", model_name) if alias != name)
    return Column(
        name=name,
        type="name",
        master=master,
        db_column=_column(key_field),
        path=f"{path}{key_field.name}",
        label=capfirst(f"{model._meta.verbose_name} name"),
        required=True,
        max_length=key_field.max_length,
        aliases=aliases,
    )


def _value_column(master: Master, model_field: models.Field, *, path: str) -> Column:
    label = capfirst(str(model_field.verbose_name))
    if isinstance(model_field, models.DecimalField):
        return Column(
            name=model_field.name,
            type="decimal",
            master=master,
            db_column=_column(model_field),
            path=path,
            label=label,
            max_digits=model_field.max_digits,
            decimal_places=model_field.decimal_places,
        )
    if isinstance(model_field, models.IntegerField):  # also Small/Big/Positive integer fields
        return Column(
            name=model_field.name, type="count", master=master, db_column=_column(model_field), path=path, label=label
        )
    if isinstance(model_field, models.TextField):
        column_type = "text"
    elif isinstance(model_field, models.CharField):
        column_type = "code"
    else:
        raise ValueError(f"{master.table}.{model_field.name}: no column type for {type(model_field).__name__}")
    return Column(
        name=model_field.name,
        type=column_type,
        master=master,
        db_column=_column(model_field),
        path=path,
        label=label,
        max_length=model_field.max_length,
    )


def _file_order(columns: tuple[Column, ...]) -> tuple[Column, ...]:
    """Columns as files write them: each parent's name, then the values it carries, then the row's own values.

    ``item_name, description, color_name, size_name, sku, price, stock``: an
    item's description sits next to its name, as catalog teams write it.
    """
    ordered: list[Column] = []
    for column in columns:
        if column.type == "name":
            ordered.append(column)
            ordered += [c for c in columns if c.type != "name" and c.master is column.master and c not in ordered]
    ordered += [c for c in columns if c not in ordered]
    return tuple(ordered)


# --- the kinds ---------------------------------------------------------------------------------

KINDS = KindRegistry()
KINDS.register(ItemVariant, name="variants", label="Item variants")
KINDS.register(Item, name="items", label="Items")
KINDS.register(Color, name="colors", label="Colors")
KINDS.register(Size, name="sizes", label="Sizes")
