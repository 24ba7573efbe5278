"""Words for the import screens' figures: stages, durations, counts.

The same words reach the browser (``progress_labels`` as JSON) so that the live
progress bar says what the page said when it was rendered.
"""

from __future__ import annotations

from django import template

from imports.models import ImportStage, ImportStatus, ImportSystem

register = template.Library()

#: What each engine stage means to someone watching an import.
STAGE_LABELS = {"": "", **dict(ImportStage.choices)}


@register.filter
def stage_words(stage: str) -> str:
    return STAGE_LABELS.get(stage or "", stage)


#: The importers in a catalog manager's words; how each works (upsert, table locks)
#: stays under "Technical details" and on the metrics page.
IMPORTER_WORDS: dict[str, str] = {ImportSystem.UPSERT: "new importer", ImportSystem.LEGACY: "legacy importer"}


@register.filter
def importer_words(system: str) -> str:
    return IMPORTER_WORDS.get(system, system)


@register.filter
def seconds_in_words(seconds) -> str:
    """``0.4 s``, ``12 s``, ``3 min 05 s``, ``1 h 02 min``; a dash when unknown."""
    if seconds in (None, ""):
        return "-"
    seconds = float(seconds)
    if seconds < 0.1:
        return "under 0.1 s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@register.filter
def thousands(value) -> str:
    """``12345`` -> ``12,345`` (django.contrib.humanize is not installed)."""
    if value in (None, ""):
        return "-"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def percent(value) -> str:
    """The one way a percentage is written on the screens: one decimal at most, ``82.4 %``, ``80 %``.

    Never rounded up to ``100 %`` (or down to ``0 %``) when it is not exactly that:
    99.96 % of rows imported is "99.9 %", so one failed row is never hidden.
    """
    if value in (None, ""):
        return "-"
    number = float(value)
    shown = round(number, 1)
    if shown == 100 and number < 100:
        shown = 99.9
    elif shown == 0 and number > 0:
        shown = 0.1
    return f"{shown:,.1f}".removesuffix(".0") + " %"


@register.filter
def absolute(value):
    """``-12.5`` -> ``12.5`` (the improvement % as "more time" when it is negative)."""
    return abs(value) if isinstance(value, int | float) else value


@register.filter
def lookup(mapping: dict, key):
    """``mapping[key]`` (a dict whose keys include "items" cannot be read with ``.items``)."""
    return mapping.get(key, "") if isinstance(mapping, dict) else ""


@register.filter
def without_app(app_list: list, app_label: str) -> list:
    """The admin's app list without one app (the home page shows the imports once, in its own block)."""
    return [app for app in app_list if app.get("app_label") != app_label]


@register.simple_tag
def progress_labels() -> dict:
    """The words the live progress bar uses: stages and statuses (``imports/job.js``)."""
    return {"stages": STAGE_LABELS, "statuses": dict(ImportStatus.choices)}


@register.simple_tag
def line_of(error, job=None) -> int | None:
    """The spreadsheet line of a failed row: its ``line_number`` when it has one, else ``job.line_number``."""
    if isinstance(error, dict):
        if "line_number" in error:
            return error["line_number"]
        row_number = error.get("row_number")
    else:
        row_number = getattr(error, "row_number", None)
    if job is None or row_number is None:
        return None
    return job.line_number(row_number)
