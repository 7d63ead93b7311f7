import os

from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "config"
    verbose_name = "Emulator"

    def ready(self) -> None:
        # What every emulator process writes (the database, keys, logs) is its
        # own: 0600/0700. A job reads what jobs/storage.py opens to it.
        os.umask(0o077)
        # The Django idiom: system checks register when the app is ready.
        from config import checks  # noqa: F401
