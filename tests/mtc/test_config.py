"""Settings validation: a bad value stops start-up with a message naming key, value and what is accepted."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from mtc import config

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, 1000), ("", 1000), ("  ", 1000), ("1", 1), (" 500 ", 500), ("50000", 50000)]
)
def test_read_positive_int_accepts_whole_numbers_and_defaults_when_unset(raw, expected):
    env = {} if raw is None else {"IMPORT_BATCH_SIZE": raw}

    assert config.read_positive_int(env, "IMPORT_BATCH_SIZE", default=1000) == expected


@pytest.mark.parametrize("raw", ["0", "abc", "-5", "1.5", "10k", "1e3"])
def test_read_positive_int_refuses_anything_else_naming_key_value_and_accepted(raw):
    with pytest.raises(ImproperlyConfigured) as refused:
        config.read_positive_int({"IMPORT_BATCH_SIZE": raw}, "IMPORT_BATCH_SIZE", default=1000)

    assert str(refused.value) == f"IMPORT_BATCH_SIZE={raw!r} is not valid: expected a whole number of at least 1."


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("Yes", True), ("off", False), ("", False)])
def test_read_bool(raw, expected):
    assert config.read_bool({"DEBUG": raw}, "DEBUG", default=False) is expected


def test_read_bool_refuses_other_words():
    with pytest.raises(ImproperlyConfigured, match=r"DEBUG='maybe' is not valid: expected true or false"):
        config.read_bool({"DEBUG": "maybe"}, "DEBUG", default=False)


def test_read_fraction_percent_bounds():
    assert config.read_fraction_percent({"X": "99.5"}, "X", 95.0) == 99.5
    with pytest.raises(ImproperlyConfigured, match=r"X='101' is not valid: expected a number from 0 to 100"):
        config.read_fraction_percent({"X": "101"}, "X", 95.0)
    with pytest.raises(ImproperlyConfigured, match=r"X='high' is not valid"):
        config.read_fraction_percent({"X": "high"}, "X", 95.0)


def test_read_int_list_and_redis_url():
    assert config.read_int_list({"IDS": " 1, 2 ,3,"}, "IDS") == [1, 2, 3]
    with pytest.raises(ImproperlyConfigured, match=r"IDS='1,bob' is not valid: expected a comma-separated"):
        config.read_int_list({"IDS": "1,bob"}, "IDS")
    assert config.read_redis_url({"R": "redis://localhost:6379/0"}, "R") == "redis://localhost:6379/0"
    with pytest.raises(ImproperlyConfigured, match=r"R='http://x' is not valid: expected a redis://"):
        config.read_redis_url({"R": "http://x"}, "R")


def test_read_non_negative_int_accepts_zero_and_refuses_the_rest():
    assert config.read_non_negative_int({"N": "0"}, "N", default=60) == 0
    assert config.read_non_negative_int({}, "N", default=60) == 60
    with pytest.raises(ImproperlyConfigured, match=r"N='-1' is not valid: expected a whole number of at least 0"):
        config.read_non_negative_int({"N": "-1"}, "N", default=60)


def test_read_http_url():
    assert config.read_http_url({}, "U") == ""
    assert config.read_http_url({"U": " https://hooks.example.com/x "}, "U") == "https://hooks.example.com/x"
    for bad in ("ftp://x", "hooks.example.com", "http://a b"):
        with pytest.raises(ImproperlyConfigured, match=r"expected an http:// or https:// URL"):
            config.read_http_url({"U": bad}, "U")


@pytest.mark.slow
def test_a_webhook_without_its_secret_stops_start_up():
    result = start(STARTUPS["django.setup"], IMPORT_WEBHOOK_URL="https://hooks.example.com/imports")
    assert result.returncode != 0
    assert "IMPORT_WEBHOOK_URL is set: set IMPORT_WEBHOOK_SECRET too" in result.stderr
    result = start(
        STARTUPS["django.setup"], IMPORT_WEBHOOK_URL="https://hooks.example.com/i", IMPORT_WEBHOOK_SECRET="s"
    )
    assert result.returncode == 0, result.stderr


# --- Start-up itself: the settings module refuses the value ----------------------------------

STARTUPS = {
    "django.setup": [sys.executable, "-c", "import django; django.setup()"],
    "manage.py check": [sys.executable, "manage.py", "check"],
}
BAD_VALUES = [
    ("IMPORT_BATCH_SIZE", "0", "expected a whole number of at least 1"),
    ("IMPORT_BATCH_SIZE", "abc", "expected a whole number of at least 1"),
    ("IMPORT_MAX_DESCRIPTION_LENGTH", "2000000", "expected a whole number from 1 to 1,048,576"),
    ("USE_NEW_IMPORT_SYSTEM", "percentage:150", "expected false, true, test_users_only or percentage:N"),
    ("USE_NEW_IMPORT_SYSTEM", "maybe", "expected false, true, test_users_only or percentage:N"),
]


def start(command: list[str], **overrides) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("IMPORT_", "USE_NEW"))}
    env.update(DJANGO_SETTINGS_MODULE="mtc.settings", **overrides)
    return subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("startup", list(STARTUPS))
@pytest.mark.parametrize(("key", "value", "accepted"), BAD_VALUES)
def test_a_bad_value_stops_start_up_with_the_message(startup, key, value, accepted):
    result = start(STARTUPS[startup], **{key: value})

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {key}={value!r} is not valid: {accepted}" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("startup", list(STARTUPS))
def test_good_values_start_up(startup):
    result = start(STARTUPS[startup], IMPORT_BATCH_SIZE="500", USE_NEW_IMPORT_SYSTEM="percentage:25")

    assert result.returncode == 0, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("flag", [None, ""])
def test_an_unset_rollout_flag_is_the_new_importer(flag):
    """A fresh install never gets the legacy importer's table locks; the rollout sets each phase explicitly."""
    overrides = {} if flag is None else {"USE_NEW_IMPORT_SYSTEM": flag}
    code = (
        "import django; django.setup(); from imports.rollout.routing import choose_system; "
        "routing = choose_system(user=None); print(str(routing.system), routing.reason)"
    )
    result = start([sys.executable, "-c", code], **overrides)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "upsert USE_NEW_IMPORT_SYSTEM=true"


# --- production mode (issue 11, item 8) ----------------------------------------------------------


def without_secret_key(**overrides) -> dict[str, str]:
    return {"SECRET_KEY": "", "DEBUG": "false", **overrides}


@pytest.mark.slow
@pytest.mark.parametrize("startup", list(STARTUPS))
def test_with_debug_off_and_no_secret_key_nothing_starts_and_the_message_names_the_key(startup):
    result = start(STARTUPS[startup], **without_secret_key())

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set. With DEBUG off (production)" in result.stderr
    assert "development key" not in result.stdout


@pytest.mark.slow
def test_with_debug_on_the_development_key_is_allowed():
    result = start(STARTUPS["manage.py check"], **without_secret_key(DEBUG="true"))

    assert result.returncode == 0, result.stderr


def test_read_secret_key():
    assert config.read_secret_key({"SECRET_KEY": " s3cret "}, "SECRET_KEY", debug=False) == "s3cret"
    assert config.read_secret_key({}, "SECRET_KEY", debug=True) == config.DEVELOPMENT_SECRET_KEY
    with pytest.raises(ImproperlyConfigured, match=r"^SECRET_KEY is not set"):
        config.read_secret_key({"SECRET_KEY": "  "}, "SECRET_KEY", debug=False)


CHECK_DEPLOY = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]


def production_configuration() -> dict[str, str]:
    """The README's production ``env`` block, with a real random key in place of the placeholder."""
    readme = (PROJECT / "README.md").read_text()
    block = readme.split("### Production", 1)[1].split("```env\n", 1)[1].split("```", 1)[0]
    lines = dict(line.split("=", 1) for line in block.splitlines() if line and not line.startswith("#"))
    assert lines["SECRET_KEY"].startswith("<")
    lines["SECRET_KEY"] = secrets.token_urlsafe(50)
    lines["DATABASE_URL"] = os.environ.get("DATABASE_URL", "sqlite:///:memory:")  # check --deploy reads no row
    return lines


@pytest.mark.slow
def test_check_deploy_passes_with_no_warning_under_the_documented_production_configuration():
    result = start(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], **production_configuration()
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.slow
def test_check_deploy_names_what_is_missing_without_it():
    result = start(
        CHECK_DEPLOY,
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="false",
    )

    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr
