"""The default cache on Redis, falling back to another cache while Redis fails (see :mod:`mtc.outages`)."""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from mtc.outages import REDIS_OUTAGE, REDIS_TIMEOUT_SECONDS


class RedisCacheWithFallback(RedisCache):
    """Django's Redis cache that, while Redis fails, uses another cache (``OPTIONS["FALLBACK"]``, an alias).

    Counts kept in the fallback during an outage stay there: once Redis
    answers, throttling counts afresh in Redis (a short outage lets a user
    start at most one more window's worth of imports).
    """

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        self._fallback_alias = options.pop("FALLBACK", "fallback")
        options.setdefault("socket_connect_timeout", REDIS_TIMEOUT_SECONDS)
        options.setdefault("socket_timeout", REDIS_TIMEOUT_SECONDS)
        super().__init__(server, {**params, "OPTIONS": options})

    def _either(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if not REDIS_OUTAGE.skip():
            try:
                result = getattr(super(), method)(*args, **kwargs)
            except RedisError as error:
                REDIS_OUTAGE.failed(error)
            else:
                REDIS_OUTAGE.recovered()
                return result
        return getattr(caches[self._fallback_alias], method)(*args, **kwargs)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._either("add", key, value, timeout=timeout, version=version)

    def get(self, key, default=None, version=None):
        return self._either("get", key, default=default, version=version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._either("set", key, value, timeout=timeout, version=version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._either("touch", key, timeout=timeout, version=version)

    def delete(self, key, version=None):
        return self._either("delete", key, version=version)

    def get_many(self, keys, version=None):
        return self._either("get_many", keys, version=version)

    def has_key(self, key, version=None):
        return self._either("has_key", key, version=version)

    def incr(self, key, delta=1, version=None):
        return self._either("incr", key, delta=delta, version=version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._either("set_many", data, timeout=timeout, version=version)

    def delete_many(self, keys, version=None):
        return self._either("delete_many", keys, version=version)

    def clear(self):
        return self._either("clear")
