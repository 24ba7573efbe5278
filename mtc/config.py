"""Typed, validated reading of the environment.

Settings come from the process environment, then from ``.env`` at the project
root (the environment wins). A value that cannot be used stops start-up with a
message naming the key, the value and what is accepted: a typo in
``IMPORT_BATCH_SIZE`` must never turn into a silent default in production.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def _invalid(key: str, raw: str, accepted: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{key}={raw!r} is not valid: expected {accepted}.")


def read_positive_int(env: Mapping[str, str], key: str, default: int, *, maximum: int | None = None) -> int:
    """A whole number >= 1 (sizes, limits, timeouts), at most ``maximum`` when given."""
    raw = env.get(key)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not re.fullmatch(r"\d+", text) or int(text) < 1:
        raise _invalid(key, raw, "a whole number of at least 1")
    if maximum is not None and int(text) > maximum:
        raise _invalid(key, raw, f"a whole number from 1 to {maximum:,}")
    return int(text)


def read_fraction_percent(env: Mapping[str, str], key: str, default: float) -> float:
    """A percentage between 0 and 100 (alert thresholds)."""
    raw = env.get(key)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise _invalid(key, raw, "a number from 0 to 100") from None
    if not 0 <= value <= 100:
        raise _invalid(key, raw, "a number from 0 to 100")
    return value


def read_bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key)
    if raw is None or raw.strip() == "":
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _invalid(key, raw, "true or false (also 1/0, yes/no, on/off)")


def read_list(env: Mapping[str, str], key: str, default: list[str]) -> list[str]:
    raw = env.get(key)
    if raw is None or raw.strip() == "":
        return list(default)
    return [part.strip() for part in raw.split(",") if part.strip()]


def read_int_list(env: Mapping[str, str], key: str) -> list[int]:
    parts = read_list(env, key, [])
    if not all(re.fullmatch(r"\d+", part) for part in parts):
        raise _invalid(key, env.get(key, ""), "a comma-separated list of user ids, e.g. 1,2,3")
    return [int(part) for part in parts]


def read_redis_url(env: Mapping[str, str], key: str) -> str:
    raw = (env.get(key) or "").strip()
    if raw and not re.match(r"^rediss?://", raw):
        raise _invalid(key, raw, "a redis:// or rediss:// URL, or nothing for local memory")
    return raw


RATE_PERIODS = {
    "s": "second",
    "sec": "second",
    "second": "second",
    "m": "minute",
    "min": "minute",
    "minute": "minute",
    "h": "hour",
    "hour": "hour",
    "d": "day",
    "day": "day",
}


def read_rate(env: Mapping[str, str], key: str, default: str) -> str:
    """A request rate as DRF's throttles take it: ``N/second|minute|hour|day`` (N >= 1)."""
    raw = env.get(key)
    if raw is None or raw.strip() == "":
        return default
    match = re.fullmatch(r"\s*(\d+)\s*/\s*([a-z]+)\s*", raw.lower())
    if not match or int(match.group(1)) < 1 or match.group(2) not in RATE_PERIODS:
        raise _invalid(key, raw, "N/second, N/minute, N/hour or N/day with N at least 1, e.g. 10/minute")
    return f"{int(match.group(1))}/{RATE_PERIODS[match.group(2)]}"


#: The key a development process signs with when none is set. Public: never for production.
DEVELOPMENT_SECRET_KEY = "django-insecure-development-key-set-SECRET_KEY-in-production"  # noqa: S105 - public by design


def read_secret_key(env: Mapping[str, str], key: str, *, debug: bool) -> str:
    """``SECRET_KEY``, required unless ``debug``: production must never sign with the public development key.

    Sessions, CSRF tokens, password-reset links and the worker's task
    payloads are signed with it; with the development key anyone can forge
    them. So with DEBUG off and no key, start-up stops here, naming the key.
    """
    raw = (env.get(key) or "").strip()
    if raw:
        return raw
    if debug:
        return DEVELOPMENT_SECRET_KEY
    raise ImproperlyConfigured(
        f"{key} is not set. With DEBUG off (production) the server refuses to start with the public "
        f"development key: set {key} to a long random string, e.g. the output of "
        f"python -c 'import secrets; print(secrets.token_urlsafe(50))', or set DEBUG=true for development."
    )


def read_non_negative_int(env: Mapping[str, str], key: str, default: int) -> int:
    """A whole number >= 0 (0 switches the feature off)."""
    raw = env.get(key)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not re.fullmatch(r"\d+", text):
        raise _invalid(key, raw, "a whole number of at least 0")
    return int(text)


def read_http_url(env: Mapping[str, str], key: str, default: str = "") -> str:
    """An http:// or https:// URL, or nothing (the default)."""
    raw = (env.get(key) or "").strip()
    if not raw:
        return default
    if not re.match(r"^https?://[^/\s]+", raw) or any(c.isspace() for c in raw):
        raise _invalid(key, raw, "an http:// or https:// URL")
    return raw


def read_choice(env: Mapping[str, str], key: str, choices: tuple[str, ...], default: str) -> str:
    """One of ``choices`` (case-insensitive), or ``default`` when unset."""
    raw = env.get(key)
    if raw is None or raw.strip() == "":
        return default
    word = raw.strip().lower()
    if word not in choices:
        raise _invalid(key, raw, " or ".join(choices))
    return word
