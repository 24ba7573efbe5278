from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Imports"

    def ready(self):
        # The engine's own strategy (the upsert) registers itself when its module loads.
        # A restarted background worker resumes the imports its predecessor left running.
        from django_q.signals import post_spawn

        import imports.engine.run  # noqa: F401

        post_spawn.connect(_recover_on_worker_start, dispatch_uid="imports.recover_on_worker_start")
        # /metrics (mtc/metrics.py) reads the import system's figures from the database at each scrape.
        from imports.prometheus import ImportCollector
        from mtc.metrics import register_collector

        register_collector(ImportCollector())


def _recover_on_worker_start(sender=None, **kwargs) -> None:
    """``imports.tasks.recover_on_worker_start``, imported when a worker starts rather than by every process.

    The tasks bring the notifications (mail, webhooks, the API's renderer): a
    command such as ``import_catalog`` never needs them.
    """
    from imports.tasks import recover_on_worker_start

    recover_on_worker_start(sender=sender, **kwargs)
