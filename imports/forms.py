"""The admin's import forms: which file and what it holds; how its columns are read.

Only input parsing lives here. Whether a file can be imported (its size, its
type by content, its header) is decided by :mod:`imports.services`, the same
checks every door runs; the view turns their refusals into form errors.
"""

from __future__ import annotations

from django import forms
from django.conf import settings

from catalog.kinds import KINDS, Column, Kind, kind_choices
from imports.corrections import Correction
from imports.engine.limits import MAX_HEADER_ROW
from imports.engine.numbers import AUTO, LABELS


def kind_columns(kind: Kind) -> str:
    """The columns of a kind in words: ``item_name, color_name, size_name (required); description, ...``."""
    required = [column.name for column in kind.columns if column.required]
    optional = [column.name for column in kind.columns if not column.required]
    text = f"{', '.join(required)} (required)"
    return f"{text}; {', '.join(optional)} (optional)" if optional else text


class ImportFileForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text="",  # set in __init__: it names the size limit, which is a setting
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.txt,.xlsx,.xlsm,.json,.jsonl,.ndjson"}),
    )
    kind = forms.ChoiceField(
        label="What the file holds",
        choices=kind_choices,
        initial=KINDS.default,
        widget=forms.RadioSelect,
    )
    sheet = forms.CharField(
        label="Sheet (Excel files only)",
        required=False,
        max_length=100,
        help_text="Leave empty to read the first sheet.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            f"CSV, Excel (.xlsx), JSON or JSON Lines, up to {settings.IMPORT_MAX_UPLOAD_MB} MB. "
            "It needs a row of column names; a title or notes above it are skipped."
        )

    @staticmethod
    def columns_by_kind() -> dict[str, str]:
        """What each choice of ``kind`` expects, for the page to show under the choices."""
        return {kind.name: kind_columns(kind) for kind in KINDS}


class ColumnMappingForm(forms.Form):
    """One choice per column of the file (the field it holds, or nothing: ignored), and how its numbers are written.

    Built from the file's columns (``imports.previews.file_columns``). The
    form is valid when no field is chosen for two columns and every required
    field has a column; each missing required field is named with the word
    the user sees in the dropdowns.
    """

    IGNORE = ""

    number_format = forms.ChoiceField(
        label="Numbers in this file are written with",
        choices=list(LABELS.items()),
        required=False,
        initial=AUTO,
    )

    header_row = forms.IntegerField(
        label="The column names are on line",
        required=False,
        min_value=1,
        max_value=MAX_HEADER_ROW,
        help_text="The line number your spreadsheet program shows. Lines above it (a title, notes) are skipped.",
    )

    def __init__(
        self,
        *args,
        kind: Kind,
        columns: list,
        number_format: str = AUTO,
        header_row: int | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.columns = columns
        self.fields["number_format"].initial = number_format
        self.header_row_read = header_row
        if header_row is None:  # JSON has no lines: nothing to choose
            del self.fields["header_row"]
        else:
            self.fields["header_row"].initial = header_row
        choices = [(self.IGNORE, "(ignore this column)"), *((c.name, c.label) for c in kind.columns)]
        for column in columns:
            self.fields[self.field_name(column.index)] = forms.ChoiceField(
                label=column.header, choices=choices, required=False, initial=column.field or self.IGNORE
            )

    @staticmethod
    def field_name(index: int) -> str:
        return f"column_{index}"

    def rows(self) -> list[tuple]:
        """``(column, bound field)`` per column of the file, for the template."""
        return [(column, self[self.field_name(column.index)]) for column in self.columns]

    def chosen(self) -> dict[str, list[str]]:
        """Field -> the headers it is chosen for (from the submitted or the initial choices)."""
        found: dict[str, list[str]] = {}
        for column in self.columns:
            if self.is_bound:  # after is_valid(): what was submitted
                field = self.cleaned_data.get(self.field_name(column.index), self.IGNORE)
            else:
                field = column.field or self.IGNORE
            if field:
                found.setdefault(field, []).append(column.header)
        return found

    def missing(self) -> list[Column]:
        """The required fields no column gives (shown next to the dropdowns)."""
        chosen = self.chosen()
        return [column for column in self.kind.columns if column.required and column.name not in chosen]

    def problems(self) -> list[str]:
        """What keeps the chosen columns from being read: a field chosen twice, a required field not chosen."""
        found = [
            f"{self.kind.column(field).label} is chosen for {len(headers)} columns "
            f"({', '.join(repr(h) for h in headers)}): choose it for one of them."
            for field, headers in self.chosen().items()
            if len(headers) > 1
        ]
        missing = self.missing()
        if missing:
            found.append(
                f"Choose the column that holds {_listed([c.label.lower() for c in missing])}: "
                f"{'it is' if len(missing) == 1 else 'they are'} needed for every row."
            )
        return found

    def header_row_changed(self) -> bool:
        """Whether another line was chosen for the column names (then the columns are new: not checked here)."""
        chosen = self.cleaned_data.get("header_row") if self.is_bound else None
        return chosen is not None and chosen != self.header_row_read

    def clean(self):
        cleaned = super().clean()
        if self.header_row_changed():
            return cleaned
        problems = self.problems()
        if problems:
            raise forms.ValidationError(problems)
        return cleaned

    def mapping(self) -> dict[str, str | None]:
        """The chosen mapping, header -> field or None (call after ``is_valid()``); none for a new header line."""
        if self.header_row_changed():
            return {}
        return {column.header: self.cleaned_data.get(self.field_name(column.index)) or None for column in self.columns}

    def reader_options(self) -> dict[str, str | int]:
        """How the file is read besides its columns: the number format, the header's line (after ``is_valid()``)."""
        options: dict[str, str | int] = {"number_format": self.cleaned_data.get("number_format") or AUTO}
        if self.cleaned_data.get("header_row"):
            options["header_row"] = self.cleaned_data["header_row"]
        return options


def _listed(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


class CorrectionsForm(forms.Form):
    """The job page's corrected failed rows, as its table sends them: ``[{"row_number", "values"}]`` in JSON."""

    corrections = forms.JSONField()

    def clean_corrections(self) -> list[Correction]:
        rows = self.cleaned_data["corrections"]
        if not isinstance(rows, list) or not all(
            isinstance(row, dict)
            and isinstance(row.get("row_number"), int)
            and row["row_number"] >= 1
            and isinstance(row.get("values", {}), dict)
            for row in rows
        ):
            raise forms.ValidationError("The corrected rows could not be read; reload the page and try again.")
        return [
            Correction(
                row_number=row["row_number"],
                values={str(k): "" if v is None else str(v) for k, v in row.get("values", {}).items()},
            )
            for row in rows
        ]
