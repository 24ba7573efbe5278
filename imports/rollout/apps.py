from django.apps import AppConfig


class RolloutConfig(AppConfig):
    """The migration guide's rollout kit, plugged into the engine at start-up."""

    name = "imports.rollout"
    label = "rollout"
    verbose_name = "Importer rollout"

    def ready(self):
        from imports.engine import strategies
        from imports.rollout.legacy import LegacyRun
        from imports.rollout.routing import choose_system, rollout_flag

        rollout_flag()  # a USE_NEW_IMPORT_SYSTEM typo stops start-up, naming the key
        strategies.register(LegacyRun)
        strategies.set_router(choose_system)
