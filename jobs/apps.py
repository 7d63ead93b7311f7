from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "WebJobs"

    def ready(self) -> None:
        # The Django idiom: system checks register when the app is ready.
        from jobs import checks  # noqa: F401
