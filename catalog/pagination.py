"""Pages of the catalog lists: numbers near the start, cursors at any depth, and a bounded count.

A catalog list may hold a million rows. Two things made its pages slow there
(measured at 1,000,000 live variants): counting every row on every page
(``COUNT(*)``, 116 ms) and reaching a deep page by number (``OFFSET``: page
20,000 read and dropped a million rows, 924 ms). So:

* ``count`` is exact up to 1,000 rows and PostgreSQL's estimate past that
  (``catalog.counting``); ``count_is_exact`` says which; a list of at most
  1,000 rows is then read by the ids its count found;
* ``?page=N`` serves the first 10,000 rows of a list (page 200 at 50 a page):
  deeper pages by number answer 400, saying to follow the links;
* the ``next`` and ``previous`` links page on: by number while the next page
  is among those rows, then by ``?cursor=``, an opaque position after (or
  before) the last (first) row shown, served from the index that orders the
  list (keyset pagination): a page a million rows deep is as fast as the
  first. A cursor is only meant to be followed as given; one that is not a
  position of this list answers 400;
* the items' pages (:class:`ItemPages`) are found by their ids first, then
  read by id (:func:`_read`): the walk past the items ``?name=`` refuses
  reads ``item_master_live_name_upper`` alone, not the table.

Every list is ordered by its model's ordering, then by its id, so each row
has one place and a cursor never skips or repeats a row, even while rows are
added or deleted between two pages.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import OrderedDict

from django.core.exceptions import ValidationError as FieldValidationError
from django.db.models import F, Field, Func, QuerySet, Value
from django.db.models.lookups import GreaterThan, LessThan
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from catalog.counting import EXACT_UP_TO, list_count
from mtc.pagination import _WHOLE_NUMBER, Pages

#: The rows a list serves by page number (page 200 at 50 rows a page); past them, the links' cursors.
NUMBERED_ROWS = 10_000
_BIGINT = 2**63


class CatalogPages(Pages):
    """``?page=N`` for the first :data:`NUMBERED_ROWS` rows, ``?cursor=`` anywhere; ``count`` bounded."""

    cursor_query_param = "cursor"
    #: Whether a page's ids are found first, then its rows by id (:func:`_read`), or the rows at once.
    ids_first = False
    has_next: bool
    has_previous: bool

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        size = self.get_page_size(request)
        self.page_size = size
        self.keys = _keys(queryset.model)
        self.fields = {field.attname: field for field in queryset.model._meta.concrete_fields}
        queryset = queryset.order_by(*(name for name, _ in self.keys))
        cursor = request.query_params.get(self.cursor_query_param)
        number = request.query_params.get(self.page_query_param)
        if cursor is not None and number is not None:
            raise ValidationError({"cursor": "Give a page number or a cursor, not both."})
        self.count = list_count(queryset)
        if self.count.ids is not None:
            # A short list is read by its ids (an empty one not at all): the planner, expecting
            # more matches, could walk the ordering index for them (``catalog.counting``).
            queryset = queryset.filter(pk__in=self.count.ids)
        if cursor is not None:
            forward, position = self._decode(cursor)
            rows = self._rows_from(queryset, position, forward=forward, size=size)
            more = len(rows) > size
            rows = rows[:size]
            if not forward:
                rows.reverse()
            self.number: int | None = None
            self.has_next = more if forward else True
            self.has_previous = True if forward else more
        else:
            self.number = self._number(number, size)
            start = (self.number - 1) * size
            rows = self._read(queryset, start, start + size + 1)
            if self.number > 1 and not rows:
                raise NotFound("Invalid page.")
            self.has_next = len(rows) > size
            rows = rows[:size]
            self.has_previous = self.number > 1
        self.rows = rows
        return rows

    # --- the response --------------------------------------------------------------------

    def get_paginated_response(self, data):
        return Response(
            OrderedDict(
                [
                    ("count", self.count.rows),
                    ("count_is_exact", self.count.exact),
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )

    def get_next_link(self):
        if not self.has_next:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        if self.number is not None and self.number * self.page_size < NUMBERED_ROWS:
            return replace_query_param(url, self.page_query_param, self.number + 1)
        url = remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, self._encode(self.rows[-1], forward=True))

    def get_previous_link(self):
        if not self.has_previous:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        if self.number is not None:
            if self.number == 2:
                return remove_query_param(url, self.page_query_param)
            return replace_query_param(url, self.page_query_param, self.number - 1)
        return replace_query_param(url, self.cursor_query_param, self._encode(self.rows[0], forward=False))

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        properties = response["properties"]
        properties["count"]["description"] = (
            f"How many results there are, over every page: exact up to {EXACT_UP_TO:,}, "
            f"past that PostgreSQL's estimate (see count_is_exact)."
        )
        properties["next"]["description"] = (
            "This list's URL for the next page (absolute), or null when there is none: by page number within "
            f"the first {NUMBERED_ROWS:,} rows, then by cursor."
        )
        properties["previous"]["description"] = (
            "This list's URL for the previous page (absolute), or null when there is none."
        )
        ordered = OrderedDict()
        for key, value in properties.items():
            ordered[key] = value
            if key == "count":
                ordered["count_is_exact"] = {
                    "type": "boolean",
                    "description": f"Whether count is exact (at most {EXACT_UP_TO:,} results) or an estimate.",
                }
        response["properties"] = ordered
        response["required"] = [*response.get("required", ["count", "results"]), "count_is_exact"]
        return response

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["description"] = (
                    f"A page number within the first {NUMBERED_ROWS:,} rows (deeper: 400; follow the next links)."
                )
        return [
            *parameters,
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "A position in the list, as the next and previous links give it (not with page).",
                "schema": {"type": "string"},
            },
        ]

    # --- page numbers ----------------------------------------------------------------------

    def _number(self, raw: str | None, size: int) -> int:
        if raw is None:
            return 1
        if not _WHOLE_NUMBER.fullmatch(raw) or int(raw) < 1:
            raise NotFound("Invalid page.")
        number = int(raw)
        if (number - 1) * size >= NUMBERED_ROWS:
            raise ValidationError(
                {
                    "page": f"Page {number} starts past the first {NUMBERED_ROWS:,} rows, which page numbers reach. "
                    f"Follow the next links from there (cursors, as fast at any depth), or narrow the list "
                    f"with a filter."
                }
            )
        return number

    # --- cursors ---------------------------------------------------------------------------

    def _rows_from(self, queryset: QuerySet, position: list, *, forward: bool, size: int) -> list:
        # A row comparison, which PostgreSQL serves from the ordering index. Built of column
        # expressions, not raw SQL naming the table: ``_read`` puts it in a subquery of the same
        # table, where Django renames the table and a raw text would name the outer one.
        columns = _Row(*(F(attribute) for attribute, _ in self.keys))
        values = _Row(*(Value(value) for value in position))
        ordered = queryset.filter(GreaterThan(columns, values) if forward else LessThan(columns, values))
        if not forward:
            ordered = ordered.order_by(*(f"-{name}" for name, _ in self.keys))
        return self._read(ordered, 0, size + 1)

    def _read(self, ordered: QuerySet, start: int, stop: int) -> list:
        return _read(ordered, start, stop) if self.ids_first else list(ordered[start:stop])

    def _encode(self, row, *, forward: bool) -> str:
        return cursor_for(row, forward=forward)

    def _decode(self, cursor: str) -> tuple[bool, list]:
        refused = ValidationError({"cursor": "Not a position in this list: follow the next and previous links."})
        try:
            decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (binascii.Error, ValueError):
            raise refused from None
        if not isinstance(decoded, dict) or len(decoded) != 1 or next(iter(decoded)) not in ("n", "p"):
            raise refused
        ((direction, position),) = decoded.items()
        if not isinstance(position, list) or len(position) != len(self.keys):
            raise refused
        for value, (attribute, _) in zip(position, self.keys, strict=True):
            if not _storable(value, self.fields[attribute]):
                raise refused
        return direction == "n", position


class _Row(Func):
    """A row value, ``(a, b, ...)``: compared as a whole, column after column (the list's order)."""

    template = "(%(expressions)s)"
    output_field = Field()


class ItemPages(CatalogPages):
    """The items' pages, found by their ids first (an index-only walk, :func:`_read`).

    Not the variants': no index holds their list's order with what their
    filters read (the items' names are joined), and their pages found by ids
    first took 1.7 ms where they took 1.1 ms at once (the slowest query's
    median, alternating benchmark runs at 1,000,000 variants).
    """

    ids_first = True


def _read(ordered: QuerySet, start: int, stop: int) -> list:
    """The rows ``start`` to ``stop`` of ``ordered``: their ids found first, then the rows read by id.

    Finding a page is a walk of the list's ordering index past the rows the
    filters refuse. Asking for the ids alone lets it be an index-only walk
    where the index holds what the filters read: ``?name=`` on items reads
    the upper-case names kept in ``item_master_live_name_upper`` (0007)
    instead of fetching each item and upper-casing its name. ``?name=rain``
    walks 90,000 names before its first match (38 ms from the table, 10 ms
    index-only, at 100,000 items). The rows, their annotations and any long
    text are then read for the page's ids only, in one statement with the
    walk (``IN`` a subquery).
    """
    return list(ordered.filter(pk__in=ordered.values("pk")[start:stop]))


def cursor_for(row, *, forward: bool = True) -> str:
    """The cursor of the position just after ``row`` (``forward``) or just before it, in its model's list."""
    position = [getattr(row, attribute) for attribute, _ in _keys(type(row))]
    text = json.dumps({"n" if forward else "p": position}, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def list_order(model) -> list[str]:
    """The order of ``model``'s list: its ordering, then its id."""
    return [name for name, _ in _keys(model)]


def _keys(model) -> list[tuple[str, str]]:
    """The list's order as ``(attribute, column)`` pairs: its model's ordering, then its id.

    Only the model's own columns (no ``-`` descending, no related field):
    what the catalog models order by.
    """
    options = model._meta
    fields = {f.name: f for f in options.concrete_fields} | {f.attname: f for f in options.concrete_fields}
    keys = []
    for name in [*options.ordering, options.pk.attname]:
        field = fields[name]
        if (field.attname, field.column) not in keys:
            keys.append((field.attname, field.column))
    return keys


def _storable(value, field) -> bool:
    """Whether a cursor's value could be a value of ``field`` (the database would take it)."""
    if field.get_internal_type() in ("AutoField", "BigAutoField", "ForeignKey", "BigIntegerField", "IntegerField"):
        return isinstance(value, int) and not isinstance(value, bool) and -_BIGINT <= value < _BIGINT
    if isinstance(value, str):
        try:
            field.to_python(value)
        except FieldValidationError:
            return False
        return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    return False
