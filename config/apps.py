from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "config"
    verbose_name = "Emulator"

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registers the system checks)
