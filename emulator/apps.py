from django.apps import AppConfig

from config.heap import freeze_startup_heap


class EmulatorConfig(AppConfig):
    name = "emulator"
    verbose_name = "Emulator"

    def ready(self) -> None:
        # The last app: every app and the modules they import are loaded, in
        # every process (web, queue, engine, launchers, host; tests too).
        freeze_startup_heap()
