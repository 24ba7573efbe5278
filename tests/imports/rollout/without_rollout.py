"""Settings for a site after the guide's phase 5: the rollout kit's package and settings block are gone.

Used by ``test_removal`` in subprocesses. The package is hidden from the
import system (as if deleted) and its settings are removed, so anything that
still imported ``imports.rollout`` or read ``USE_NEW_IMPORT_SYSTEM`` would fail.
"""

import sys
from importlib.abc import MetaPathFinder

from mtc.settings import *  # noqa: F403
from mtc.settings import INSTALLED_APPS


class _Deleted(MetaPathFinder):
    """``imports.rollout`` is not there any more."""

    def find_spec(self, name, path=None, target=None):
        if name == "imports.rollout" or name.startswith("imports.rollout."):
            raise ModuleNotFoundError(f"No module named {name!r} (deleted in phase 5)", name=name)
        return


sys.meta_path.insert(0, _Deleted())
INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "imports.rollout"]
# As in tests.settings: static files by their plain names, no collectstatic manifest needed.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
del USE_NEW_IMPORT_SYSTEM, IMPORT_TEST_USER_IDS, IMPORT_TEST_USERS_GROUP  # noqa: F821
