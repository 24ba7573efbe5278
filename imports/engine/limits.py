"""The bounds every reader keeps to, whatever the file: what one file may make the importer hold.

A small hostile file must not cost the process gigabytes or minutes (a JSON
nested 100,000 deep, a 1 MB workbook whose sheet inflates to 1 GiB, a cell
of 50 MB). So each reader bounds what it holds, refuses a file past a bound
with a message naming the limit, and checks what it can before reading (an
XLSX's parts by their declared sizes, which ``zipfile`` enforces). They are
documented in the README (Importing files: Limits) and chosen far above
anything a real catalog file needs: Excel itself stops at 16,384 columns,
1,048,576 rows and 32,767 characters a cell.
"""

from __future__ import annotations

MiB = 1024 * 1024

#: The most characters of a header kept: a longer header is cut (ending in an ellipsis).
MAX_HEADER_CHARS = 1024
#: The most columns a file may have (Excel's own width).
MAX_COLUMNS = 16_384
#: The most characters one cell may hold; a longer cell refuses the file ("the field limit").
MAX_CELL_CHARS = 1 * MiB
#: The most characters one row may hold: a line of a CSV or JSON Lines file, the cells of an XLSX row.
MAX_ROW_CHARS = 8 * MiB
#: How deep JSON values may nest: the array of rows is level 1, a row's object level 2.
MAX_JSON_DEPTH = 32
#: The most elements of a nested JSON value kept to show it in a row's problem.
JSON_NESTED_SHOWN = 100

#: The most cell content (characters, or bytes of a text file) read and held before it is staged: the
#: import stages its chunk of rows (and the number format sample stops) once this much is held.
HELD_CONTENT_CHARS = 8 * MiB

#: XLSX: the most parts (files) in the workbook's zip, and the size of its directory.
MAX_XLSX_PARTS = 10_000
MAX_XLSX_DIRECTORY_BYTES = 16 * MiB
#: XLSX: the most bytes a part may inflate to, by part (as the zip declares them, which zipfile enforces).
MAX_XLSX_SHEET_BYTES = 512 * MiB
MAX_XLSX_SHARED_STRINGS_BYTES = 64 * MiB
MAX_XLSX_PART_BYTES = 16 * MiB
MAX_XLSX_TOTAL_BYTES = 1024 * MiB
#: XLSX: the most a part may inflate, uncompressed / compressed, once it is larger than the grace size.
MAX_XLSX_RATIO = 100
XLSX_RATIO_GRACE_BYTES = 1 * MiB
#: XLSX: the most rows (``<row>`` elements) a sheet may hold (Excel's own height).
MAX_XLSX_ROWS = 1_048_576
#: XLSX: the most strings in the shared strings table (held in memory while the file is read).
MAX_XLSX_SHARED_STRINGS = 1_048_576
#: XLSX: the most XML elements in one row of a sheet, one shared string, or any other part.
MAX_XLSX_ELEMENTS_PER_ROW = 8 * MAX_COLUMNS
MAX_XLSX_ELEMENTS_PER_PART = 262_144
#: XLSX: the most bytes of text, an attribute or a tag without a ``<`` (one cell's worth, in UTF-8 with entities).
MAX_XLSX_TEXT_BYTES = 8 * MAX_CELL_CHARS

#: Header rows: a sheet may have a title, notes or blank rows above its header. When the first row
#: with content does not place every required field, the header is looked for among this many rows
#: with content (and no more than HELD_CONTENT_CHARS of their cells, which are held until it is found).
HEADER_SEARCH_ROWS = 50
#: The furthest line a user may name as the header row (``--header-row``, the API's ``header_row``).
MAX_HEADER_ROW = 1000
#: Cells of a candidate header row that are scored (a real header is far narrower), and the longest
#: cell scored as a header (a longer one is a note or data, never a column name).
HEADER_SCORED_COLUMNS = 1024
HEADER_SCORED_CHARS = 200
