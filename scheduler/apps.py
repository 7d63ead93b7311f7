from django.apps import AppConfig


class SchedulerConfig(AppConfig):
    name = "scheduler"
    verbose_name = "Scheduler"

    def ready(self) -> None:
        """Fill the hooks the jobs app offers (it sits below and cannot import
        this app): a deployed schedule becomes a scheduler job, and the
        launcher of scheduled runs takes its fires from here."""
        # Imported here, the Django idiom: the apps' models are ready now.
        from jobs import hooks
        from jobs.launcher import fires
        from scheduler import actions, webjobs

        hooks.webjob_deployed_hooks.append(webjobs.webjob_schedule_sync)
        hooks.webjob_timer_hooks.append(webjobs.webjob_timer)
        fires.register(
            fires.FireSource(
                fires=actions.webjob_fires,
                begin_together=actions.begin_together,
                release=actions.release_attempts,
            )
        )
