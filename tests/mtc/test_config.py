"""Settings validation: a bad value stops start-up with a message naming key, value and what is accepted."""

import os
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


def test_read_whole_number_accepts_zero_and_refuses_the_rest():
    assert config.read_whole_number({"N": "0"}, "N", default=60) == 0
    assert config.read_whole_number({}, "N", default=60) == 60
    with pytest.raises(ImproperlyConfigured, match=r"N='-1' is not valid: expected a whole number of at least 0"):
        config.read_whole_number({"N": "-1"}, "N", default=60)


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
