"""Other ways to read an XLSX sheet's rows, measured by ``python -m bench.xlsx_reader`` against the engine's.

The engine reads with :mod:`imports.engine.xlsx_stream` (expat, three small
handlers) or, for a plain sheet, :mod:`imports.engine.xlsx_calamine`; these
are the candidates measured against it. Each reads the first sheet of a workbook, values only, as
far as the benchmark's sheets need (shared and inline strings, numbers): the
same work the engine does on them, minus its checks of the parts
(``xlsx_parts``) and of the cells' sizes, which cost the same for all.

``openpyxl-parser``
    what the engine did before: ``load_workbook(read_only=True)`` (which
    reads the whole shared strings table into an object per string and
    pre-scans a sheet lacking ``<dimension>``), then openpyxl's private
    ``WorkSheetParser`` over ElementTree's ``iterparse``, each ``<row>``
    dropped once read.
``etree``
    ElementTree's C tree builder (no Python call per element), each complete
    row read from the tree and removed from it: an element object per cell
    and per value, which the garbage collector walks.
``calamine``
    python-calamine (Rust) alone, its raw values: what the engine's
    ``imports.engine.xlsx_calamine`` builds on (adding the conversions that
    make its rows those of the streaming reader). Fast, but it holds the
    whole sheet in memory, and it gives no way to tell a formula whose
    result was never saved from an empty cell: the engine uses it only for
    plain sheets under a size bound.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

from imports.engine.xlsx_stream import MAIN

_NS = f"{{{MAIN}}}"
SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"


def openpyxl_parser(path: Path) -> Iterator[list]:
    import openpyxl
    from openpyxl.worksheet._reader import ROW_TAG, WorkSheetParser
    from openpyxl.xml.functions import iterparse

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    worksheet = workbook.worksheets[0]
    parser = WorkSheetParser(
        None,
        worksheet._shared_strings,
        data_only=True,
        epoch=workbook.epoch,
        date_formats=workbook._date_formats,
        timedelta_formats=workbook._timedelta_formats,
    )
    with worksheet._get_source() as source:
        sheet_data = None
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                if element.tag == f"{_NS}sheetData":
                    sheet_data = element
                continue
            if element.tag == ROW_TAG:
                _number, cells = parser.parse_row(element)
                values = [None] * max((cell["column"] for cell in cells), default=0)
                for cell in cells:
                    values[cell["column"] - 1] = cell["value"]
                if sheet_data is not None:
                    sheet_data.clear()
                yield values
    workbook.close()


def _children(source, parent_tag: str) -> Iterator[ET.Element]:
    parser = ET.XMLParser(target=ET.TreeBuilder())  # noqa: S314 (the benchmark's own files)
    starts: list = []
    parser._setevents(starts, ("start",))  # type: ignore[attr-defined]  # XMLPullParser's own hook
    parent = None
    while chunk := source.read(64 * 1024):
        parser.feed(chunk)
        if parent is None:
            parent = next((element for _, element in starts if element.tag == parent_tag), None)
            starts.clear()
            if parent is not None:
                parser._setevents(starts, ())  # type: ignore[attr-defined]
        if parent is not None and len(parent) > 1:
            complete = parent[:-1]
            del parent[:-1]
            yield from complete
    parser.close()
    if parent is not None:
        yield from list(parent)


def etree(path: Path) -> Iterator[list]:
    value_tag, inline_tag, text_tag = f"{_NS}v", f"{_NS}is", f"{_NS}t"
    with zipfile.ZipFile(path) as archive:
        strings: list[str] = []
        if STRINGS in archive.namelist():
            with archive.open(STRINGS) as source:
                strings = ["".join(item.itertext()) for item in _children(source, f"{_NS}sst")]
        columns: dict[str, int] = {}
        with archive.open(SHEET) as source:
            for row in _children(source, f"{_NS}sheetData"):
                values: list = []
                column = 0
                for cell in row:
                    ref = cell.get("r")
                    if ref:
                        letters = ref.rstrip("0123456789")
                        column = columns.get(letters) or columns.setdefault(
                            letters, sum((ord(ch) - 64) * 26**i for i, ch in enumerate(reversed(letters)))
                        )
                    else:
                        column += 1
                    kind = cell.get("t", "n")
                    value: object = None
                    if kind == "inlineStr":
                        inline = cell.find(inline_tag)
                        value = None if inline is None else "".join(t.text or "" for t in inline.iter(text_tag))
                    elif text := cell.findtext(value_tag):
                        if kind == "n":
                            value = float(text) if ("." in text or "e" in text or "E" in text) else int(text)
                        elif kind == "s":
                            value = strings[int(text)]
                        else:
                            value = text
                    if column > len(values):
                        values.extend([None] * (column - len(values)))
                    values[column - 1] = value
                yield values


def calamine(path: Path) -> Iterator[list]:
    import python_calamine  # type: ignore[import-not-found]

    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    yield from workbook.get_sheet_by_index(0).to_python()


def calamine_available() -> bool:
    try:
        import python_calamine  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return False
    return True


CANDIDATES = {"openpyxl-parser": openpyxl_parser, "etree": etree, "calamine": calamine}
