"""deploy/prometheus-rules.yml: valid for Prometheus, and each alert fires at the guide's threshold.

``promtool`` comes with Debian's ``prometheus`` package (``apt-get install
prometheus``). ``promtool test rules`` replays the series of
``prometheus-rules-test.yml`` (rows, durations, jobs, heartbeats just past and
just inside each threshold) and compares the alerts that fire, with their text.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from imports import prometheus

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus-rules.yml"

needs_promtool = pytest.mark.skipif(not shutil.which("promtool"), reason="promtool missing: apt-get install prometheus")


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60, check=False)


@needs_promtool
def test_promtool_checks_the_rules():
    result = promtool("check", "rules", str(RULES))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout


@needs_promtool
def test_each_alert_fires_past_its_threshold_and_not_inside_it(tmp_path):
    tests = (Path(__file__).parent / "prometheus-rules-test.yml").read_text().replace("RULES", str(RULES))
    (tmp_path / "rules-test.yml").write_text(tests)

    result = promtool("test", "rules", str(tmp_path / "rules-test.yml"))

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_use_only_metrics_the_application_exports():
    names = {"mtc_import_duration_seconds", "mtc_import_rows_total", "mtc_import_jobs", "mtc_queue_depth"}
    names |= {"mtc_import_oldest_pending_age_seconds", "mtc_worker_heartbeat_age_seconds"}
    source = Path(prometheus.__file__).read_text()
    for rule in yaml.safe_load(RULES.read_text())["groups"][0]["rules"]:
        for used in re.findall(r"\bmtc_[a-z_]+", rule["expr"]):
            base = re.sub(r"_(bucket|count|sum)$", "", used)
            assert base in names, used
            assert base.removesuffix("_total") in source, used
