"""A sheet's XML -> rows, and the shared strings table -> strings, with one pass of ``xml.parsers.expat``.

Why not openpyxl's own cell parser (its ``WorkSheetParser``, which the
reader used before): it builds an ElementTree element per cell, then a dict
per cell and a coordinate tuple, in Python, and its shared strings reader
builds an object per string. Here expat calls three small handlers (an
element's start and end, its text) and nothing but the current row is
built: a row is handed on once the chunk holding its end has been parsed,
so memory stays flat whatever the number of rows (at most a chunk's rows
wait). ``python -m bench.xlsx_reader`` measures it against openpyxl's
parser, against ElementTree's C tree builder with each row dropped once
read (slower: an element object per cell and per value, and the garbage
collector's passes over them), and against python-calamine (faster, but it
holds the whole sheet in memory and cannot tell an unsaved formula).

The values are those openpyxl gives (the XLSX tests run the old public path
against this one):

* ``t="s"``: the shared string; ``t="inlineStr"``: the text of ``<is>``
  (its ``<t>`` and the ``<t>`` of its runs, not the phonetic ``<rPh>``);
  ``t="str"`` (a formula's text result): the text; ``t="b"``: a bool;
  ``t="e"``: :class:`ExcelError`; ``t="d"``: an ISO 8601 date;
* a number (``t="n"`` or none): ``int`` unless it holds ``.``/``e``/``E``
  (then :func:`~imports.engine.tables.sheet_number`: ``int`` when whole
  and below 10**15, else ``float``); a date or a duration when its style
  is a date or time format (``date_styles``/``timedelta_styles``: style
  indexes, from the workbook's stylesheet); a serial number out of range
  is ``#VALUE!``;
* an empty ``<v/>`` reads as no value; a cell with a formula ``<f>`` and no
  saved value (not ``t="str"``, whose saved text may be empty) is an
  :class:`UnsavedFormula` holding ``=`` and the formula's text.

Cells go where their ``r`` says (the next column when it has none), rows
are numbered by their ``r`` (the next number when it has none), a row ends
at its last cell with a value and a row with none is left out (as
:mod:`imports.engine.xlsx_calamine`, which sees no difference between a
missing cell and an empty one), and the sheet ends at ``</sheetData>``.
The size of what is held is bounded by :mod:`imports.engine.xlsx_parts`,
which has checked the part before this reads it; a DTD or an entity
declaration is refused here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO
from xml.parsers import expat

from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.datetime import from_excel, from_ISO8601

from imports.engine.tables import ExcelError, UnsavedFormula, sheet_number

#: The SpreadsheetML namespace (transitional, the one Excel and every library write), as expat names it.
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SEP = "}"
_ROW, _CELL, _VALUE, _FORMULA = (f"{MAIN}{_SEP}{name}" for name in ("row", "c", "v", "f"))
_INLINE, _TEXT, _RUN, _PHONETIC = (f"{MAIN}{_SEP}{name}" for name in ("is", "t", "r", "rPh"))
_SHEET_DATA, _STRING_ITEM = f"{MAIN}{_SEP}sheetData", f"{MAIN}{_SEP}si"
_DIGITS = "0123456789"
#: Bytes handed to expat at once: the rows of one chunk are held until it is parsed.
CHUNK = 64 * 1024


class SheetError(ValueError):
    """The XML is not a sheet this reader can read (the caller refuses the file with this message)."""


def _parser(*, start: Callable, end: Callable, text: Callable) -> expat.XMLParserType:
    """An expat parser calling ``start``/``end``/``text``, refusing any DTD or entity declaration."""
    parser = expat.ParserCreate(namespace_separator=_SEP)
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.buffer_text = True
    parser.buffer_size = CHUNK
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def no_declarations(*_args) -> None:
        raise SheetError("it declares a DTD or an entity, which a workbook never needs")

    parser.StartDoctypeDeclHandler = no_declarations
    parser.EntityDeclHandler = no_declarations
    return parser


def _chunks(source: IO[bytes]) -> Iterator[bytes]:
    while chunk := source.read(CHUNK):
        yield chunk


class SharedStrings:
    """The shared strings table, read only as far as the cells read so far need.

    Each ``<si>``'s text (its ``<t>`` and its runs', not phonetic ``<rPh>``);
    as openpyxl reads it (``read_string_table``), ``x005F_`` is removed.
    Excel writes the strings in the order the cells first use them, so the
    first rows of a sheet (the upload's check: a header and a thousand rows)
    need only the start of the table; reading every row reads it all, once.
    ``strings`` is the list read so far; :meth:`get` reads on to an index.
    ``source`` (``None``: a workbook without shared strings) stays open
    while the sheet is read.
    """

    def __init__(self, source: IO[bytes] | None):
        self.strings: list[str] = []
        self._chunks = _chunks(source) if source is not None else iter(())
        self._ended = source is None
        parts: list[str] = []
        text_open = False
        phonetic = 0

        def start(name: str, _attrs) -> None:
            nonlocal text_open, phonetic
            if name == _TEXT:
                text_open = not phonetic
            elif name == _STRING_ITEM:
                parts.clear()
            elif name == _PHONETIC:
                phonetic += 1

        def end(name: str) -> None:
            nonlocal text_open, phonetic
            if name == _TEXT:
                text_open = False
            elif name == _STRING_ITEM:
                self.strings.append("".join(parts).replace("x005F_", ""))
            elif name == _PHONETIC:
                phonetic -= 1

        def text(data: str) -> None:
            if text_open:
                parts.append(data)

        self._parser = _parser(start=start, end=end, text=text)

    def get(self, index: int) -> str:
        """String ``index``, reading the table on as far as it; ``IndexError`` past its end."""
        try:
            while index >= len(self.strings) and not self._ended:
                chunk = next(self._chunks, None)
                if chunk is None:
                    self._ended = True
                    self._parser.Parse(b"", True)
                else:
                    self._parser.Parse(chunk, False)
        except expat.ExpatError as exc:
            raise SheetError(f"the shared strings: ExpatError: {exc}") from None
        return self.strings[index]


class _Columns(dict):
    """Column letters -> 1-based index, learnt as met (a sheet names a few columns a million times)."""

    def __missing__(self, letters: str) -> int:
        try:
            index = column_index_from_string(letters.strip("$").upper())
        except ValueError:
            raise SheetError(f"a cell reference names no column ({letters!r})") from None
        self[letters] = index
        return index


def sheet_rows(
    source: IO[bytes],
    shared: SharedStrings,
    *,
    epoch,
    date_styles: set[int],
    timedelta_styles: set[int],
) -> Iterator[tuple[int, list]]:
    """``(sheet row number, values)`` of every ``<row>`` in ``<sheetData>``, read as the module says."""
    done: list[tuple[int, list]] = []
    strings = shared.strings  # grows as shared.get() reads on
    columns = _Columns()
    date_style_ids = {str(style) for style in date_styles}
    # The state of the element being read (the handlers' closure: faster than attributes).
    row: list = []
    number = column = phonetic = 0
    kind = "n"
    style: str | None = None
    value: str | None = None
    formula: str | None = None
    inline: list[str] | None = None
    collect: list[str] | None = None  # where character data goes, when it is kept
    in_data = ended = False

    def start(name: str, attrs: dict) -> None:
        nonlocal row, number, column, kind, style, value, formula, inline, collect, phonetic, in_data
        if name == _CELL:
            ref = attrs.get("r")
            column = columns[ref.rstrip(_DIGITS)] if ref else column + 1
            kind = attrs.get("t", "n")
            style = attrs.get("s")
            value = formula = inline = None
        elif name == _VALUE:
            collect = []
        elif name == _TEXT:
            if inline is not None and not phonetic:
                collect = inline
        elif name == _ROW:
            numbered = attrs.get("r")
            number = number + 1 if numbered is None else _row_number(numbered)
            row = []
            column = 0
        elif name == _INLINE:
            inline = []
        elif name == _FORMULA:
            collect = []
        elif name == _PHONETIC:
            phonetic += 1
        elif name == _SHEET_DATA:
            in_data = True

    def end(name: str) -> None:
        nonlocal value, formula, collect, phonetic, ended
        if name == _VALUE:
            value = "".join(collect) if collect else None
            collect = None
        elif name == _CELL:
            cell: object = None
            if kind == "inlineStr":
                if inline is not None:
                    cell = "".join(inline)
            elif value is not None:
                if kind == "n":
                    cell = sheet_number(float(value)) if ("." in value or "e" in value or "E" in value) else int(value)
                    if style in date_style_ids:
                        try:
                            cell = from_excel(cell, epoch, timedelta=int(style) in timedelta_styles)  # type: ignore[arg-type]
                        except (OverflowError, ValueError):
                            cell = ExcelError("#VALUE!")
                elif kind == "s":
                    index = int(value)
                    cell = strings[index] if index < len(strings) else shared.get(index)
                elif kind == "b":
                    cell = bool(int(value))
                elif kind == "e":
                    cell = ExcelError(value)
                elif kind == "d":
                    cell = from_ISO8601(value)
                else:  # "str" (a formula's text result), or a type openpyxl keeps as text
                    cell = value
            if cell is None and formula is not None and kind != "str":  # "str": a saved text result may be ""
                cell = UnsavedFormula(f"={formula}")
            if column > len(row):
                row.extend([None] * (column - len(row)))
            row[column - 1] = cell
        elif name == _ROW:
            while row and row[-1] is None:
                row.pop()
            if in_data and row:
                done.append((number, row))
        elif name == _TEXT:
            if collect is inline:
                collect = None
        elif name == _FORMULA:
            formula = "".join(collect) if collect else ""
            collect = None
        elif name == _PHONETIC:
            phonetic -= 1
        elif name == _SHEET_DATA:
            ended = True

    def text(data: str) -> None:
        if collect is not None:
            collect.append(data)

    parser = _parser(start=start, end=end, text=text)
    try:
        for chunk in _chunks(source):
            parser.Parse(chunk, False)
            yield from done
            done.clear()
            if ended:
                return
        parser.Parse(b"", True)
        yield from done
    except expat.ExpatError as exc:
        raise SheetError(f"ExpatError: {exc}") from None


def _row_number(numbered: str) -> int:
    """A ``<row r>`` as openpyxl reads it: a whole number, also written as a float (``"3.0"``)."""
    try:
        return int(numbered)
    except ValueError:
        as_float = float(numbered)
        if not as_float.is_integer():
            raise SheetError(f"{numbered} is not a valid row number") from None
        return int(as_float)
