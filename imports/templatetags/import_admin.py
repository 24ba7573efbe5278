"""Words for the import screens' figures: stages, durations, counts.

The same words reach the browser (``progress_labels`` as JSON) so that the live
progress bar says what the page said when it was rendered.
"""

from __future__ import annotations

from django import template

from imports.models import ImportStage, ImportStatus

register = template.Library()

#: What each engine stage means to someone watching an import.
STAGE_LABELS = {"": "", **dict(ImportStage.choices)}


@register.filter
def stage_words(stage: str) -> str:
    return STAGE_LABELS.get(stage or "", stage)


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
