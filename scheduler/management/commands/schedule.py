"""manage.py schedule create | preview | list | show | run | enable | disable | delete
| history: Azure Scheduler jobs from the command line.

A job is addressed as COLLECTION/JOB, RESOURCEGROUP/COLLECTION/JOB or
SUBSCRIPTION/RESOURCEGROUP/COLLECTION/JOB; what is left out comes from
--subscription and --resource-group (both "local" by default). The command builds
the same ARM JSON as the REST API and calls the same services, so a job created
here validates, fires and reads back exactly like one PUT through the SDK.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from config.clock import clock_now, clock_refresh
from core.definitions import validate_action
from core.kudu import iso_utc
from core.recurrence import (
    RecurrenceError,
)
from scheduler.arm import job_json
from scheduler.management.schedule_flags import (
    action_json,
    add_action_arguments,
    positive_int,
    recurrence_json,
    recurrence_parser,
)
from scheduler.models import (
    PLAN_DEFAULTS,
    ActionName,
    CollectionState,
    HistoryStatus,
    Job,
    JobCollection,
    JobState,
    Sku,
)
from scheduler.selectors import (
    field_message,
    job_description,
    job_state_counts,
    job_upcoming,
    recurrence_preview,
)
from scheduler.services import (
    Conflict,
    NotFound,
    collection_get,
    collection_set_state,
    job_delete,
    job_get,
    job_put_creating_collection,
    job_run_now,
    job_set_state,
)

DEFAULT_SUBSCRIPTION = "local"
DEFAULT_RESOURCE_GROUP = "local"
SHOW_OCCURRENCES = 5
MESSAGE_WIDTH = 60

ERR_JOB_ADDRESS = (
    "{value!r} is not a job address; use COLLECTION/JOB, "
    "RESOURCEGROUP/COLLECTION/JOB or SUBSCRIPTION/RESOURCEGROUP/COLLECTION/JOB."
)
ERR_COLLECTION_ADDRESS = (
    "{value!r} is not a job collection address; use COLLECTION, "
    "RESOURCEGROUP/COLLECTION or SUBSCRIPTION/RESOURCEGROUP/COLLECTION."
)
MSG_QUEUED = (
    "A queue worker runs it (`manage.py runinstance` or `manage.py qcluster`); "
    "see `manage.py schedule history {job}`."
)
MSG_SKU_IGNORED = (
    "The job collection {name!r} already exists with sku {sku}; --sku is ignored."
)


# --- the command ---------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Create, preview, list, show, run, enable, disable and delete Azure "
        "Scheduler jobs, and read their history. Jobs are addressed as "
        "[[SUBSCRIPTION/]RESOURCEGROUP/]COLLECTION/JOB."
    )

    def add_arguments(self, parser) -> None:
        where = argparse.ArgumentParser(add_help=False)
        where.add_argument(
            "--subscription",
            default=DEFAULT_SUBSCRIPTION,
            help=f"subscription id when the address has none "
            f"(default {DEFAULT_SUBSCRIPTION!r})",
        )
        where.add_argument(
            "--resource-group",
            default=DEFAULT_RESOURCE_GROUP,
            help=f"resource group when the address has none "
            f"(default {DEFAULT_RESOURCE_GROUP!r})",
        )
        timing = recurrence_parser()
        sub = parser.add_subparsers(dest="action", required=True)

        create = sub.add_parser(
            "create",
            parents=[where, timing],
            help="Create (or replace) a job; creates its collection if needed.",
        )
        create.add_argument("job", metavar="COLLECTION/JOB")
        add_action_arguments(create)
        create.add_argument(
            "--sku",
            choices=Sku.values,
            help="plan of a new collection (default Standard)",
        )
        create.add_argument(
            "--next",
            dest="upcoming",
            type=positive_int,
            metavar="N",
            help="only print the next N occurrences; create nothing",
        )

        preview = sub.add_parser(
            "preview",
            parents=[timing],
            help="Print the next occurrences of a recurrence; create nothing.",
        )
        preview.add_argument(
            "--next",
            dest="upcoming",
            type=positive_int,
            default=SHOW_OCCURRENCES,
            metavar="N",
            help=f"how many occurrences (default {SHOW_OCCURRENCES})",
        )
        preview.add_argument(
            "--sku",
            choices=Sku.values,
            help="also check the plan's most frequent recurrence allowed",
        )

        listing = sub.add_parser(
            "list",
            parents=[where],
            help="List the jobs of a collection, or of the resource group.",
        )
        listing.add_argument(
            "collection",
            nargs="?",
            metavar="[[SUBSCRIPTION/]RESOURCEGROUP/]COLLECTION",
        )

        show = sub.add_parser(
            "show",
            parents=[where],
            help="Print a job's ARM JSON and its next occurrences.",
        )
        show.add_argument("job", metavar="COLLECTION/JOB")

        run = sub.add_parser(
            "run", parents=[where], help="Run a job's action once, now."
        )
        run.add_argument("job", metavar="COLLECTION/JOB")

        for name, verb in (("enable", "Enable"), ("disable", "Disable")):
            toggle = sub.add_parser(
                name,
                parents=[where],
                help=f"{verb} a job (COLLECTION/JOB) or every job of a collection "
                "(COLLECTION alone).",
            )
            toggle.add_argument("target", metavar="COLLECTION[/JOB]")

        delete = sub.add_parser(
            "delete", parents=[where], help="Delete a job with its history."
        )
        delete.add_argument("job", metavar="COLLECTION/JOB")

        history = sub.add_parser(
            "history", parents=[where], help="A job's executions, newest first."
        )
        history.add_argument("job", metavar="COLLECTION/JOB")
        history.add_argument(
            "--top",
            type=positive_int,
            default=20,
            metavar="N",
            help="how many entries (default 20)",
        )
        history.add_argument("--status", choices=HistoryStatus.values)

    def handle(self, *args, action: str, **options) -> None:
        clock_refresh()  # another process may have moved the clock
        try:
            getattr(self, f"do_{action}")(**options)
        except RecurrenceError as exc:  # FieldError and RecurrenceQuotaError too
            raise CommandError(field_message(exc)) from None
        except (Conflict, NotFound) as exc:
            raise CommandError(str(exc)) from None

    # --- create and preview --------------------------------------------------------

    def do_create(
        self, *, job: str, upcoming: int | None, sku: str | None, **options
    ) -> None:
        sub, rg, collection_name, name = self._job_address(job, options)
        body: dict[str, Any] = {"action": action_json(options)}
        if options["start_time"] is not None:
            body["startTime"] = options["start_time"]
        recurrence = recurrence_json(options)
        if recurrence is not None:
            body["recurrence"] = recurrence
        existing = JobCollection.objects.filter(
            subscription_id=sub, resource_group=rg, name=collection_name
        ).first()
        if existing is not None and sku and sku != existing.sku:
            self.stderr.write(
                MSG_SKU_IGNORED.format(name=collection_name, sku=existing.sku)
            )
        if upcoming is not None:
            validate_action(body["action"])
            quota = (
                existing.effective_max_recurrence
                if existing
                else PLAN_DEFAULTS[sku or Sku.STANDARD][1]
            )
            self._print_upcoming(options, count=upcoming, max_recurrence=quota)
            return
        collection, saved, created = job_put_creating_collection(
            subscription_id=sub,
            resource_group=rg,
            collection_name=collection_name,
            name=name,
            body={"properties": body},
            sku=sku or Sku.STANDARD,
        )
        where = f"{sub}/{rg}/{collection_name}"
        if existing is None:
            where = f"new job collection {where} ({collection.sku})"
        else:
            where = f"job collection {where}"
        verb = "Created" if created else "Replaced"
        self.stdout.write(f"{verb} job {name!r} in {where}.")
        self._print_summary(saved)

    def do_preview(self, *, upcoming: int, sku: str | None, **options) -> None:
        quota = PLAN_DEFAULTS[sku][1] if sku else None
        self._print_upcoming(options, count=upcoming, max_recurrence=quota)

    def _print_upcoming(
        self,
        options: dict[str, Any],
        *,
        count: int,
        max_recurrence: tuple[str, int] | None,
    ) -> None:
        """The next occurrences of a job created now, validated as job_put does."""
        words, times = recurrence_preview(
            start_time=options["start_time"],
            recurrence=recurrence_json(options),
            now=clock_now(),
            max_recurrence=max_recurrence,
            count=count,
        )
        self.stdout.write(words)
        self.stdout.write(f"Next {count} occurrences (nothing was created):")
        self._print_times(times, count)

    # --- reading -------------------------------------------------------------------

    def do_list(self, *, collection: str | None, **options) -> None:
        if collection is None:
            jobs = Job.objects.filter(
                collection__subscription_id=options["subscription"],
                collection__resource_group=options["resource_group"],
            )
        else:
            found = self._collection(collection, options)
            self.stdout.write(
                f"Job collection {found.subscription_id}/{found.resource_group}/"
                f"{found.name}: {found.sku}, {found.state}, "
                f"{found.jobs.count()} / {found.effective_max_job_count} jobs"
            )
            jobs = found.jobs.all()
        jobs = list(
            jobs.select_related("collection").order_by("collection__name", "name")
        )
        if not jobs:
            self.stdout.write("No jobs.")
            return
        rows = [
            (
                f"{job.collection.name}/{job.name}",
                job.state,
                job_description(job),
                iso_utc(job.next_fire_at)
                if job.state == JobState.ENABLED and job.next_fire_at
                else "-",
                f"{job.execution_count}/{job.failure_count}/{job.faulted_count}",
            )
            for job in jobs
        ]
        headers = ("NAME", "STATE", "RECURRENCE", "NEXT EXECUTION", "EXEC/FAIL/FAULT")
        self._print_table(headers, rows)

    def do_show(self, *, job: str, **options) -> None:
        found = self._job(job, options)
        self.stdout.write(json.dumps(job_json(found), indent=2))
        self.stdout.write(f"Schedule: {job_description(found)}")
        times = job_upcoming(found, now=clock_now(), count=SHOW_OCCURRENCES)
        note = (
            " (the job is Disabled: none runs until it is enabled)"
            if found.state == JobState.DISABLED
            else ""
        )
        self.stdout.write(f"Next {SHOW_OCCURRENCES} occurrences{note}:")
        self._print_times(times, SHOW_OCCURRENCES)

    def do_history(self, *, job: str, top: int, status: str | None, **options) -> None:
        found = self._job(job, options)
        entries = found.history.order_by("-start_time", "-pk")
        if status:
            entries = entries.filter(status=status)
        rows = [
            (
                iso_utc(entry.start_time),
                entry.action_name,
                entry.status,
                str(entry.retry_count),
                _truncate(entry.message, MESSAGE_WIDTH),
            )
            for entry in entries[:top]
        ]
        if not rows:
            self.stdout.write("No history.")
            return
        headers = ("START TIME", "ACTION", "STATUS", "RETRY", "MESSAGE")
        self._print_table(headers, rows)

    # --- state changes -------------------------------------------------------------

    def do_run(self, *, job: str, **options) -> None:
        found = self._job(job, options)
        attempt = job_run_now(job=found)
        self.stdout.write(f"Run of {found} requested at {iso_utc(attempt.due_at)}.")
        # With a synchronous queue (Q_SYNC) the action has already run.
        entry = found.history.filter(
            expected_execution_time=attempt.expected_time,
            action_name=ActionName.MAIN,
            retry_count=0,
        ).first()
        if entry is not None:
            self.stdout.write(f"{entry.status}: {entry.message}")
        else:
            self.stdout.write(MSG_QUEUED.format(job=found))

    def do_enable(self, *, target: str, **options) -> None:
        self._set_state(target, options, JobState.ENABLED)

    def do_disable(self, *, target: str, **options) -> None:
        self._set_state(target, options, JobState.DISABLED)

    def _set_state(self, target: str, options: dict[str, Any], state: str) -> None:
        if "/" not in target:
            collection = self._collection(target, options)
            collection_set_state(collection=collection, state=CollectionState(state))
            counts = ", ".join(
                f"{n} {s}" for s, n in job_state_counts(collection.jobs.all())
            )
            self.stdout.write(
                f"Job collection {collection.name} is {state}"
                + (f"; its jobs: {counts}." if counts else "; it has no jobs.")
            )
            return
        found = job_set_state(job=self._job(target, options), state=state)
        self.stdout.write(f"Job {found} is {found.state}.")
        if found.state == JobState.ENABLED:
            self.stdout.write(f"Next execution: {iso_utc(found.next_fire_at)}")

    def do_delete(self, *, job: str, **options) -> None:
        found = self._job(job, options)
        label = str(found)
        job_delete(job=found)
        self.stdout.write(f"Deleted job {label}.")

    # --- addresses -----------------------------------------------------------------

    def _job_address(
        self, text: str, options: dict[str, Any]
    ) -> tuple[str, str, str, str]:
        parts = text.split("/")
        if not 2 <= len(parts) <= 4 or not all(parts):
            raise CommandError(ERR_JOB_ADDRESS.format(value=text))
        sub, rg = options["subscription"], options["resource_group"]
        padded = [sub, rg][: 4 - len(parts)] + parts
        return padded[0], padded[1], padded[2], padded[3]

    def _collection(self, text: str, options: dict[str, Any]) -> JobCollection:
        parts = text.split("/")
        if not 1 <= len(parts) <= 3 or not all(parts):
            raise CommandError(ERR_COLLECTION_ADDRESS.format(value=text))
        padded = [options["subscription"], options["resource_group"]][
            : 3 - len(parts)
        ] + parts
        return collection_get(
            subscription_id=padded[0], resource_group=padded[1], name=padded[2]
        )

    def _job(self, text: str, options: dict[str, Any]) -> Job:
        sub, rg, collection, name = self._job_address(text, options)
        found = collection_get(subscription_id=sub, resource_group=rg, name=collection)
        return job_get(collection=found, name=name)

    # --- output --------------------------------------------------------------------

    def _print_summary(self, job: Job) -> None:
        status = job_json(job)["properties"]["status"]
        upcoming = status.get("nextExecutionTime") or "none"
        if job.state == JobState.DISABLED:
            upcoming = "none while the job is Disabled"
        self.stdout.write(f"State: {job.state}")
        self.stdout.write(f"Schedule: {job_description(job)}")
        self.stdout.write(f"Next execution: {upcoming}")

    def _print_times(self, times: Sequence[datetime], count: int) -> None:
        for moment in times:
            self.stdout.write(f"  {iso_utc(moment)}")
        if len(times) < count:
            self.stdout.write("  (no more occurrences)")

    def _print_table(
        self, headers: Sequence[str], rows: Iterable[Sequence[str]]
    ) -> None:
        rows = [headers, *rows]
        widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
        for row in rows:
            line = "  ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=True)
            )
            self.stdout.write(line.rstrip())


def _truncate(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
