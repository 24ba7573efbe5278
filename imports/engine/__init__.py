"""The import engine: one pipeline behind the admin, the API and the commands.

It reads top to bottom, one module a step:

``readers``  file -> header + raw rows (CSV, XLSX, JSON, JSON Lines), streamed
``columns``  header -> which column holds which field (aliases, unknowns)
``rows``     raw row -> normalised values, or the row's problems
``staging``  every row into a temporary table; later duplicates marked
``upsert``   the only bulk writer of the masters (ON CONFLICT on the partial indexes)
``planner``  fresh statistics for a master the run has outgrown (PostgreSQL, between batches)
``record``   batch counters, row errors and the resume checkpoint, per batch
``run``      the pipeline itself, with timeout, cancel and retry rules
``legacy``   the old LOCK TABLE importer, kept as a strategy for the migration

``tables`` holds what the readers hand on (``Table`` and the cell values that
mark a problem), apart so that ``readers``, its XLSX half ``xlsx_sheets`` and
``rows`` import it and never each other in a circle.
"""
