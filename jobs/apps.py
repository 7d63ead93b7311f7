from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "WebJobs"

    def ready(self) -> None:
        """Register the app's system checks, and fill the hook history offers
        (it sits below and cannot import this app): a finished run is posted
        to the web hooks that subscribed."""
        # Imported here, the Django idiom: the apps' models are ready now.
        from history import hooks
        from jobs import checks, webhooks  # noqa: F401 (checks register on import)

        hooks.run_finished_hooks.append(webhooks.run_finished)
