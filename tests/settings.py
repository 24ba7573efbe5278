"""The test suite's settings: the project's own, with a secret key of the suite's.

With DEBUG off (as the tests run, like production) the project refuses to
start without ``SECRET_KEY`` (``mtc.config.read_secret_key``); the suite,
its subprocesses and the static checks that load Django get this one unless
the environment has its own; static files are named as they are (no collectstatic
in the tests). Nothing else differs from ``mtc.settings``.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-key-never-used-outside-the-test-suite-0123456789")

from mtc.settings import *  # noqa: F403

# The tests render pages without running collectstatic first: plain static names, no manifest
# (the production stack test, tests/deploy/, runs mtc.settings itself, manifest and all).
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
