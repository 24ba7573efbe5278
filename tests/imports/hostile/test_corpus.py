"""The bad-input corpus through both doors (issue 11, "Done when").

Every file of ``corpus.cases()`` (the issue's hostile cases, each in every format that can express it)
goes through ``import_catalog`` and through ``POST /api/imports/``, each door in a process of its own
that measures the peak memory of each file. For every file: no traceback and no 5xx, the documented
exit code (1 refused, 3 imported with failed rows) or status (400 refused, 201 imported), the web or
command process under 300 MB; nothing written for a refused file (no job, no row), and every good row
written for a partially bad one, its bad row refused with its reason.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from catalog.models import Item, ItemVariant
from imports.models import ImportJob, ImportRowError
from tests.imports.hostile.corpus import Case, cases, map_args, mapping_field, write_all
from tests.imports.hostile.doors import PEAK_MB, Outcome, through_many

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("import_env"), pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[tuple[Case, object]]:
    return write_all(tmp_path_factory.mktemp("corpus"))


def _problems(
    corpus, outcomes: list[Outcome], *, refused: Callable[[Outcome], bool], landed: Callable[[Outcome], bool]
) -> list[str]:
    """What each case got wrong, named; an empty list when every file went as documented."""
    problems = []
    for (case, path), outcome in zip(corpus, outcomes, strict=True):
        wrong = []
        if outcome.tracebacks or outcome.status in range(500, 600) or outcome.status == -1:
            wrong.append(f"traceback or 5xx (status {outcome.status}, {outcome.tracebacks} tracebacks)")
        if outcome.peak_mb >= PEAK_MB:
            wrong.append(f"peak {outcome.peak_mb} MB")
        jobs = ImportJob.objects.filter(file_name=path.name)
        if case.refused is not None:
            if not refused(outcome) or case.refused not in outcome.detail:
                wrong.append(f"expected refused with {case.refused!r}, got {outcome.status} {outcome.body!r:.300}")
            if jobs.exists() or Item.all_objects.filter(name__startswith=case.items).exists():
                wrong.append("a refused file wrote something")
        else:
            body = outcome.body if isinstance(outcome.body, dict) else {}
            if not landed(outcome) or body.get("failed") != case.failed:
                wrong.append(f"expected {case.failed} failed row(s), got {outcome.status} {outcome.body!r:.300}")
            written = ItemVariant.objects.filter(item__name__startswith=case.items).count()
            if written != case.good:
                wrong.append(f"{written} good row(s) written, expected {case.good}")
            reasons = list(ImportRowError.objects.filter(job__file_name=path.name).values_list("reason", flat=True))
            if not reasons or not all(case.reason in reason for reason in reasons):
                wrong.append(f"reasons {reasons!r:.300} do not say {case.reason!r}")
        problems += [f"{case.name}: {what}" for what in wrong]
    return problems


@pytest.mark.postgresql  # the subprocess writes the test database itself (on SQLite, a copy of it)
def test_every_file_of_the_corpus_through_the_command(corpus, tmp_path):
    outcomes = through_many("command", [(path, map_args(case)) for case, path in corpus], tmp_path)

    assert "Traceback" not in outcomes[0].stderr, outcomes[0].stderr[-3000:]
    problems = _problems(
        corpus,
        outcomes,
        refused=lambda outcome: outcome.status == 1 and "import_id" not in outcome.body,
        landed=lambda outcome: outcome.status == 3,
    )
    assert problems == []


@pytest.mark.postgresql
def test_every_file_of_the_corpus_through_the_api(corpus, tmp_path):
    outcomes = through_many("api", [(path, mapping_field(case)) for case, path in corpus], tmp_path)

    assert "Traceback" not in outcomes[0].stderr, outcomes[0].stderr[-3000:]
    problems = _problems(
        corpus,
        outcomes,
        refused=lambda outcome: outcome.status == 400,
        landed=lambda outcome: outcome.status == 201 and outcome.body["status"] == "completed_with_errors",
    )
    assert problems == []


def test_the_corpus_holds_every_case_in_every_format_it_can_take():
    formats: dict[str, set[str]] = {}
    for case in cases():
        name = case.name.removesuffix(f" {case.file_format}")
        formats.setdefault(name, set()).add(case.file_format)
    every = {"csv", "json", "jsonl", "xlsx"}
    for name in ("header of 300 characters", "formula header", "description of 10,001 characters", "look-alike color"):
        assert formats[name] == every, name
    for name in ("nul in a cell", "nul in an ignored column", "nul in a header"):
        assert formats[name] == every - {"xlsx"}, name  # XML has no NUL
    assert len(cases()) >= 40
