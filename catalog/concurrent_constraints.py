"""Migration operations that build an index without blocking writes to a big table.

``CREATE INDEX`` takes a SHARE lock: every insert and update of the table
(a master of a million rows) would wait for the whole build. On PostgreSQL
these operations build ``CONCURRENTLY`` instead (their migration must be
non-atomic); elsewhere (SQLite) they are Django's plain operations.

``AddIndexWithoutBlocking``: a plain index (the API's filters at a million
variants). An INVALID leftover of a crashed concurrent build is dropped and
built again; Django's own ``AddIndexConcurrently`` would fail on SQLite.

``AddUniqueConstraintConcurrently``: the conditional ``UniqueConstraint`` of a
master's live key, which also:

* looks for live duplicates first and refuses with the duplicate keys and the
  command that fixes them, rather than failing half-way;
* never leaves an INVALID index behind: a failed concurrent build (say a
  duplicate written while it ran) is dropped before the error is raised, and a
  leftover from an earlier crash is dropped before building;
* can be re-run after a partial failure: the migration is non-atomic, so when
  the third index is refused the first two are already built; a VALID index of
  that name is kept as it is rather than built again.

Elsewhere (SQLite) it is a plain ``AddConstraint``. Reversing it drops the
index (concurrently on PostgreSQL), so ``migrate catalog <previous>`` is the
guide's rollback step 2 and migrating forward restores the index.
"""

from __future__ import annotations

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations
from django.db.models import UniqueConstraint

from catalog.duplicates import fix_command
from catalog.selectors import MASTERS, duplicate_keys_in_table


class AddIndexWithoutBlocking(AddIndexConcurrently):
    """``AddIndexConcurrently`` on PostgreSQL (after dropping an INVALID leftover), ``AddIndex`` elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)
            return
        if _index_state(schema_editor, self.index.name) == "invalid":
            _drop_index(schema_editor, self.index.name)
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
            return
        super().database_backwards(app_label, schema_editor, from_state, to_state)


class DuplicateKeysError(RuntimeError):
    """Live rows share a key that the index being built requires to be unique."""


class AddUniqueConstraintConcurrently(migrations.AddConstraint):
    reduces_to_sql = False
    constraint: UniqueConstraint

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        self._refuse_duplicates(model, schema_editor)
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        if schema_editor.connection.in_atomic_block:
            raise RuntimeError(f"{self.constraint.name} is built CONCURRENTLY: its migration must set atomic = False.")
        state = self._index_state(schema_editor)
        if state == "valid":
            return
        if state == "invalid":
            self._drop(schema_editor)
        try:
            schema_editor.execute(self._create_sql(model, schema_editor))
        except Exception:
            self._drop(schema_editor)
            raise

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor != "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
            return
        self._drop(schema_editor)

    def describe(self):
        return f"Create partial unique index {self.constraint.name} concurrently on {self.model_name}"

    def _create_sql(self, model, schema_editor) -> str:
        quote = schema_editor.quote_name
        columns = ", ".join(quote(model._meta.get_field(f).column) for f in self.constraint.fields)
        condition = self.constraint._get_condition_sql(model, schema_editor)  # type: ignore[attr-defined]  # Django's own, unstubbed
        return (
            f"CREATE UNIQUE INDEX CONCURRENTLY {quote(self.constraint.name)} "
            f"ON {quote(model._meta.db_table)} ({columns}) WHERE {condition}"
        )

    def _refuse_duplicates(self, model, schema_editor) -> None:
        columns = [model._meta.get_field(f).column for f in self.constraint.fields]
        duplicates = duplicate_keys_in_table(
            table=model._meta.db_table,
            pk_column=model._meta.pk.column,
            columns=columns,
            using=schema_editor.connection.alias,
        )
        if not duplicates:
            return
        shown = "\n".join(f"  - {duplicate.describe()}" for duplicate in duplicates[:20])
        more = f"\n  ... and {len(duplicates) - 20} more" if len(duplicates) > 20 else ""
        raise DuplicateKeysError(
            f"Cannot create {self.constraint.name}: {model._meta.db_table} has "
            f"{len(duplicates)} live duplicate key(s):\n{shown}{more}\n"
            f"Fix them first with: {fix_command(_master_name(model._meta.db_table))}"
        )

    def _index_state(self, schema_editor) -> str:
        return _index_state(schema_editor, self.constraint.name)

    def _drop(self, schema_editor) -> None:
        _drop_index(schema_editor, self.constraint.name)


def _index_state(schema_editor, name: str) -> str:
    """``missing``, ``valid`` or ``invalid`` (left by a crashed concurrent build)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s AND pg_catalog.pg_table_is_visible(c.oid)",
            [name],
        )
        row = cursor.fetchone()
    if row is None:
        return "missing"
    return "valid" if row[0] else "invalid"


def _drop_index(schema_editor, name: str) -> None:
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


def _master_name(table: str) -> str:
    """The ``--model`` value of the duplicate commands for a master table."""
    return next(name for name, model in MASTERS.items() if model._meta.db_table == table)
