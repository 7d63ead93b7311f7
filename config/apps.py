from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "config"
    verbose_name = "Emulator"

    def ready(self) -> None:
        # The Django idiom: system checks register when the app is ready.
        from config import checks  # noqa: F401
