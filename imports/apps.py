from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Imports"

    def ready(self):
        # A restarted background worker resumes the imports its predecessor left running.
        from django_q.signals import post_spawn

        from imports.tasks import recover_on_worker_start

        post_spawn.connect(recover_on_worker_start, dispatch_uid="imports.recover_on_worker_start")
