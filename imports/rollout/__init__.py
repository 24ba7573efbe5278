"""The migration guide's rollout kit: everything that exists only while two importers coexist.

* ``legacy``: the old ``LOCK TABLE`` importer, as a strategy of the engine
  (``imports.engine.strategies``);
* ``routing``: the ``USE_NEW_IMPORT_SYSTEM`` flag, installed as the engine's
  router (which importer a new job runs on);
* ``comparison``: both importers on one file, keeping nothing (the guide's
  parallel test, ``compare_importers``);
* ``metrics``, ``dashboard``: figures per importer, the alert thresholds and
  the admin's metrics page (``import_metrics``, ``/api/metrics/imports/``);
* ``health``: the guide's validation checklist and alerts (``import_health``,
  ``/api/health/imports/``, an hourly check).

Nothing outside this package imports it: the app plugs itself in at start-up
(``apps.RolloutConfig.ready``), its URLs are mounted while it is installed,
and its admin page hangs on the import jobs' admin. The guide's phase 5
("remove old code, remove the feature flag") is therefore: ``manage.py
migrate rollout zero`` (drops its hourly schedule), delete this package,
delete the rollout block of ``mtc/settings.py``. ``tests/imports/rollout/``
checks that the application works without it.
"""
