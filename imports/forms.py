"""The admin's import form: which file, and what it holds.

Only input parsing lives here. Whether a file can be imported (its size, its
type by content, its header) is decided by :mod:`imports.services`, the same
checks every door runs; the view turns their refusals into form errors.
"""

from __future__ import annotations

from django import forms
from django.conf import settings

from catalog.kinds import KINDS, Kind, kind_choices


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
            "The first row must hold the column names."
        )

    @staticmethod
    def columns_by_kind() -> dict[str, str]:
        """What each choice of ``kind`` expects, for the page to show under the choices."""
        return {kind.name: kind_columns(kind) for kind in KINDS}
