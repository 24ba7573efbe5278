from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Imports"

    def ready(self):
        # The engine's own strategy (the upsert) registers itself when its module loads.
        # A restarted background worker resumes the imports its predecessor left running.
        from django_q.signals import post_spawn

        import imports.engine.run  # noqa: F401
        from imports.tasks import recover_on_worker_start

        post_spawn.connect(recover_on_worker_start, dispatch_uid="imports.recover_on_worker_start")
        # /metrics (mtc/metrics.py) reads the import system's figures from the database at each scrape.
        from imports.prometheus import ImportCollector
        from mtc.metrics import register_collector

        register_collector(ImportCollector())
