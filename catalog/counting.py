"""How many rows a catalog list has, without counting a million of them on every page.

``COUNT(*)`` reads every row it counts: 116 ms for one page of the variant list
at 1,000,000 live variants, on every page, for a figure nobody needs exactly
past a few thousand. :func:`list_count` counts exactly up to
:data:`EXACT_UP_TO` rows (a ``COUNT`` over at most that many plus one, a few
milliseconds whatever the table's size), and past that takes PostgreSQL's own
estimate of the list's rows (the planner's, from the table's statistics:
``EXPLAIN``, no row read). The API says which it is (``count_is_exact``), the
admin writes an estimate "about N".

A list of at most :data:`EXACT_UP_TO` rows also gives their ids
(``ListCount.ids``, from the same query), which is how a page of it is read
(``catalog.pagination``): a filter that matches few rows where the planner
expects many (``?name=chino&color=navy&size=m`` matches none of the million
variants) made it walk the list's ordering index looking for a page of
matches, 340 ms; its ids are a lookup by primary key.

SQLite (the embedded default, small catalogs) always counts exactly.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from django.db import connections
from django.db.models import QuerySet

#: Lists with at most this many rows are counted exactly.
EXACT_UP_TO = 1000


class ListCount(NamedTuple):
    rows: int
    exact: bool
    #: The rows' primary keys (in no order) when there are at most ``exact_up_to`` of them, else None.
    ids: list | None = None


def list_count(queryset: QuerySet, *, exact_up_to: int = EXACT_UP_TO) -> ListCount:
    """The rows of ``queryset``: exact up to ``exact_up_to`` (with their ids), PostgreSQL's estimate past it."""
    rows = queryset.order_by().values("pk")
    ids = list(rows[: exact_up_to + 1].values_list("pk", flat=True))
    if len(ids) <= exact_up_to:
        return ListCount(len(ids), True, ids)
    if connections[queryset.db].vendor != "postgresql":
        return ListCount(rows.count(), True)
    plan = json.loads(rows.explain(format="json"))
    return ListCount(max(int(plan[0]["Plan"]["Plan Rows"]), exact_up_to + 1), False)
