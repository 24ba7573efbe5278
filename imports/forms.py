"""The admin's import form: which file, and what it holds.

Only input parsing lives here. Whether a file can be imported (its size, its
type by content, its header) is decided by :mod:`imports.services`, the same
checks every door runs; the view turns their refusals into form errors.
"""

from __future__ import annotations

from django import forms
from django.conf import settings

from imports.engine.kinds import KINDS, KindSpec
from imports.models import ImportKind


def kind_columns(spec: KindSpec) -> str:
    """The columns of a kind in words: ``item_name, color_name, size_name (required); description, ...``."""
    required = [field.name for field in spec.fields if field.required]
    optional = [field.name for field in spec.fields if not field.required]
    text = f"{', '.join(required)} (required)"
    return f"{text}; {', '.join(optional)} (optional)" if optional else text


def kind_choices() -> list[tuple[str, str]]:
    return [(kind.value, kind.label) for kind in ImportKind if kind.value in KINDS]


class ImportFileForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text="",  # set in __init__: it names the size limit, which is a setting
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.txt,.xlsx,.xlsm,.json,.jsonl,.ndjson"}),
    )
    kind = forms.ChoiceField(
        label="What the file holds",
        choices=kind_choices,
        initial=ImportKind.VARIANTS,
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
        return {name: kind_columns(spec) for name, spec in KINDS.items()}
