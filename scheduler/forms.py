"""The portal's job form: a schedule a person can fill in without knowing the JSON.

The form only turns its fields into the ARM body of a job (and a saved job back
into fields). ``scheduler.services.job_put`` validates that body, the one
validator of the API, the commands and this form; its errors name the JSON
field (``properties.recurrence.schedule.minutes[1]``), and are shown on the
form field that produced it.
"""

from __future__ import annotations

from typing import Any

from django import forms

from core.recurrence import (
    WEEK_DAYS,
    MonthlyOccurrence,
    Recurrence,
    RecurrenceError,
    Schedule,
    format_datetime,
)
from core.recurrence_json import recurrence_from_json, recurrence_to_json
from jobs.models import WebJob
from scheduler.models import Job, JobCollection
from scheduler.secrets import action_open
from scheduler.selectors import field_message
from scheduler.services import ERR_QUOTA_JOBS, Conflict, collection_put, job_put

ERR_NUMBERS = "Enter whole numbers separated by commas, such as 0, 30."
ERR_START_TIME = "Enter the start time, or choose to start now."
ERR_END_TIME = "Enter the end time, or choose another way to end."
ERR_COUNT = "Enter the number of runs, or choose another way to end."
ERR_OCCURRENCE_DAYS = "Choose the days of the week too (the last Friday: Last + Fri)."
ERR_OCCURRENCE_WEEKS = "Choose which one too (the last Friday: Last + Fri)."
NOTE_OCCURRENCES = (
    "This job runs on {items}, which the boxes cannot show exactly (they combine "
    "every checked one with every checked day); saving replaces them."
)

FREQUENCIES = [
    ("Minute", "minute(s)"),
    ("Hour", "hour(s)"),
    ("Day", "day(s)"),
    ("Week", "week(s)"),
    ("Month", "month(s)"),
]
WEEKDAY_CHOICES = [(day, day[:3]) for day in WEEK_DAYS]
MONTH_DAY_CHOICES = [(str(day), str(day)) for day in range(1, 32)] + [
    ("-1", "Last day")
]
OCCURRENCE_CHOICES = [
    ("1", "First"),
    ("2", "Second"),
    ("3", "Third"),
    ("4", "Fourth"),
    ("5", "Fifth"),
    ("-1", "Last"),
]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
_HTTP_TYPES = ("Http", "Https")
_KEPT_ACTION_KEYS = ("retrypolicy", "erroraction")  # not on the form: kept as is

# Where an error about a JSON field is shown; the first matching prefix wins.
_FIELD_FOR_PATH = (
    ("properties.startTime", "start_at"),
    ("properties.recurrence.frequency", "frequency"),
    ("properties.recurrence.interval", "interval"),
    ("properties.recurrence.count", "count"),
    ("properties.recurrence.endTime", "end_at"),
    ("properties.recurrence.schedule.minutes", "minutes"),
    ("properties.recurrence.schedule.hours", "hours"),
    ("properties.recurrence.schedule.weekDays", "week_days"),
    ("properties.recurrence.schedule.monthDays", "month_days"),
    ("properties.recurrence.schedule.monthlyOccurrences", "month_weeks"),
    ("properties.recurrence.schedule", None),  # the schedule never fires
    ("properties.recurrence", "interval"),  # more often than the quota allows
    ("properties.action.request.method", "method"),
    ("properties.action.request.body", "body"),
    ("properties.action.request.headers", None),
    ("properties.action.request.authentication", None),
    ("properties.action.request", "url"),
    ("properties.action.type", "action_type"),
    ("properties.action.webJob", "webjob_name"),
    ("properties.action.queueMessage.storageAccount", "queue_account"),
    ("properties.action.queueMessage.queueName", "queue_name"),
    ("properties.action.queueMessage.sasToken", "queue_sas_token"),
    ("properties.action.queueMessage.message", "queue_message"),
)


def form_field_for(path: str) -> str | None:
    """``properties.recurrence.schedule.minutes[1]`` -> ``minutes``."""
    for prefix, field in _FIELD_FOR_PATH:
        if path == prefix or path.startswith((f"{prefix}.", f"{prefix}[")):
            return field
    return None


def _checkboxes(choices, *, css: str = "") -> forms.Widget:
    # The admin's own radiolist classes lay the boxes out in a row.
    classes = f"radiolist inline portal-checkboxes {css}".strip()
    return forms.CheckboxSelectMultiple(choices=choices, attrs={"class": classes})


def _radios() -> forms.Widget:
    return forms.RadioSelect(attrs={"class": "radiolist inline"})


def _datetime_input() -> forms.Widget:
    # Minutes are the finest a person picks; Playwright and browsers agree on it.
    return forms.DateTimeInput(
        attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
    )


class JobForm(forms.ModelForm):
    """Name, when, how often, until when, and what: one scheduler job."""

    schedule_type = forms.ChoiceField(
        label="Runs",
        choices=[("once", "Once"), ("recurring", "On a recurring schedule")],
        widget=_radios(),
        initial="recurring",
    )
    start = forms.ChoiceField(
        label="Starts",
        choices=[("now", "Now"), ("at", "At a time")],
        widget=_radios(),
        initial="now",
        help_text="Now: Azure runs a job without a start time once immediately, "
        "then on its schedule.",
    )
    start_at = forms.DateTimeField(
        label="Start time (UTC)", required=False, widget=_datetime_input()
    )
    interval = forms.IntegerField(
        label="Every",
        required=False,
        initial=1,
        widget=forms.NumberInput(attrs={"class": "vIntegerField"}),
    )
    frequency = forms.ChoiceField(label="Unit", choices=FREQUENCIES, initial="Day")
    hours = forms.CharField(
        label="At hours",
        required=False,
        help_text="0 to 23, separated by commas; empty: the hour of the first run.",
    )
    minutes = forms.CharField(
        label="At minutes",
        required=False,
        help_text="0 to 59, separated by commas; empty: the minute of the first run.",
    )
    week_days = forms.MultipleChoiceField(
        label="On week days",
        required=False,
        choices=WEEKDAY_CHOICES,
        widget=_checkboxes(WEEKDAY_CHOICES),
        help_text="With weeks only.",
    )
    month_days = forms.MultipleChoiceField(
        label="On days of the month",
        required=False,
        choices=MONTH_DAY_CHOICES,
        widget=_checkboxes(MONTH_DAY_CHOICES, css="portal-days"),
        help_text="With months only.",
    )
    month_weeks = forms.MultipleChoiceField(
        label="On the",
        required=False,
        choices=OCCURRENCE_CHOICES,
        widget=_checkboxes(OCCURRENCE_CHOICES),
        help_text="With months only: the first Monday, the last Friday…",
    )
    month_weekdays = forms.MultipleChoiceField(
        label="Of these days",
        required=False,
        choices=WEEKDAY_CHOICES,
        widget=_checkboxes(WEEKDAY_CHOICES),
    )
    end = forms.ChoiceField(
        label="Ends",
        choices=[
            ("never", "Never"),
            ("at", "At a time"),
            ("after", "After a number of runs"),
        ],
        widget=_radios(),
        initial="never",
    )
    end_at = forms.DateTimeField(
        label="End time (UTC)", required=False, widget=_datetime_input()
    )
    count = forms.IntegerField(label="Number of runs", required=False)
    action_type = forms.ChoiceField(
        label="Action",
        choices=[
            ("http", "Call a URL"),
            ("queue", "Put a message on a storage queue"),
            ("webjob", "Run a WebJob"),
        ],
        widget=_radios(),
        initial="http",
    )
    url = forms.CharField(
        label="URL",
        required=False,
        widget=forms.TextInput(attrs={"size": 60, "placeholder": "https://"}),
    )
    method = forms.ChoiceField(
        label="Method", choices=[(m, m) for m in METHODS], initial="GET"
    )
    body = forms.CharField(
        label="Body", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    webjob_name = forms.ChoiceField(label="WebJob", required=False)
    arguments = forms.CharField(label="Arguments", required=False)
    queue_account = forms.CharField(
        label="Storage account",
        required=False,
        help_text="devstoreaccount1: the local Azurite's account.",
    )
    queue_name = forms.CharField(label="Queue", required=False)
    queue_sas_token = forms.CharField(
        label="SAS token",
        required=False,
        strip=True,
        # A secret: never sent back to the browser; empty on an edit keeps it.
        widget=forms.PasswordInput(attrs={"size": 60}, render_value=False),
        help_text="A shared access signature of the queue that may add messages "
        "(sp=a). Leave empty to keep the current one.",
    )
    queue_message = forms.CharField(
        label="Message",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    class Meta:
        model = Job
        fields = ["collection", "name"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        names = list(
            WebJob.objects.filter(kind=WebJob.Kind.TRIGGERED)
            .order_by("name")
            .values_list("name", flat=True)
        )
        if self.instance.pk:
            for field in ("collection", "name"):
                if field in self.fields:
                    self.fields[field].disabled = True
            self.initial.update(job_initial(self.instance))
            current = self.initial.get("webjob_name")
            if current and current not in names:
                names.append(current)  # a WebJob since deleted: still shown
            note = _occurrences_note(self.instance)
            if note and "month_weeks" in self.fields:
                self.fields["month_weeks"].help_text = note
        if "webjob_name" in self.fields:
            self.fields["webjob_name"].choices = [("", "---------")] + [
                (name, name) for name in names
            ]

    def clean_hours(self) -> list[int]:
        return _numbers(self.cleaned_data["hours"])

    def clean_minutes(self) -> list[int]:
        return _numbers(self.cleaned_data["minutes"])

    def clean(self) -> dict[str, Any]:
        """Only what the chosen options need; the values themselves are checked
        by job_put."""
        cleaned = super().clean()
        if cleaned.get("start") == "at" and cleaned.get("start_at") is None:
            self.add_error("start_at", ERR_START_TIME)
        if cleaned.get("schedule_type") == "recurring":
            end = cleaned.get("end")
            if end == "at" and cleaned.get("end_at") is None:
                self.add_error("end_at", ERR_END_TIME)
            if end == "after" and cleaned.get("count") is None:
                self.add_error("count", ERR_COUNT)
            weeks, days = cleaned.get("month_weeks"), cleaned.get("month_weekdays")
            if weeks and not days:
                self.add_error("month_weekdays", ERR_OCCURRENCE_DAYS)
            if days and not weeks:
                self.add_error("month_weeks", ERR_OCCURRENCE_WEEKS)
        return cleaned

    def _post_clean(self) -> None:
        """Once the fields are valid, create or replace the job through job_put;
        its errors land on the field they are about."""
        super()._post_clean()
        if self.errors:
            return
        try:
            self.saved, _ = job_put(
                collection=self.cleaned_data["collection"],
                name=self.cleaned_data["name"],
                body=self.arm_body(),
            )
        except RecurrenceError as exc:  # FieldError and RecurrenceQuotaError too
            field = form_field_for(exc.field)
            if field is not None and field not in self.fields:
                field = None
            self.add_error(field, exc.message if field else field_message(exc))
        except Conflict as exc:
            quota = str(exc).startswith(ERR_QUOTA_JOBS.split("{", 1)[0])
            self.add_error("collection" if quota else None, str(exc))

    def arm_body(self) -> dict[str, Any]:
        """The ARM body of the job: ``{"properties": {...}}``."""
        cleaned = self.cleaned_data
        props: dict[str, Any] = {"action": self._action()}
        if cleaned["start"] == "at":
            props["startTime"] = format_datetime(cleaned["start_at"])
        if cleaned["schedule_type"] == "recurring":
            props["recurrence"] = self._recurrence()
        return {"properties": props}

    def _recurrence(self) -> dict[str, Any]:
        """The recurrence's ARM JSON, written by the same code as the API's
        answers; job_put validates it and names any field that is wrong."""
        cleaned = self.cleaned_data
        interval = cleaned["interval"]
        return recurrence_to_json(
            Recurrence(
                frequency=cleaned["frequency"],
                interval=1 if interval is None else interval,
                count=cleaned["count"] if cleaned["end"] == "after" else None,
                end_time=cleaned["end_at"] if cleaned["end"] == "at" else None,
                schedule=Schedule(
                    minutes=tuple(cleaned["minutes"] or ()),
                    hours=tuple(cleaned["hours"] or ()),
                    week_days=tuple(cleaned["week_days"] or ()),
                    month_days=tuple(int(day) for day in cleaned["month_days"]),
                    monthly_occurrences=tuple(
                        MonthlyOccurrence(day=day, occurrence=int(week))
                        for week in cleaned["month_weeks"]
                        for day in cleaned["month_weekdays"]
                    ),
                ),
            )
        )

    def _action(self) -> dict[str, Any]:
        """The action from the form; on an edit, what the form does not show
        (retry policy, error action, headers, authentication) is kept."""
        cleaned = self.cleaned_data
        # The stored credentials, opened: job_put seals them again.
        existing = action_open(self.instance.action or {}) if self.instance.pk else {}
        kept = {k: v for k, v in existing.items() if k.lower() in _KEPT_ACTION_KEYS}
        if cleaned["action_type"] == "webjob":
            web = {"name": cleaned["webjob_name"], "arguments": cleaned["arguments"]}
            return {**kept, "type": "WebJob", "webJob": web}
        if cleaned["action_type"] == "queue":
            return {**kept, "type": "StorageQueue", "queueMessage": self._queue()}
        url = cleaned["url"].strip()
        request = dict(existing.get("request") or {})
        if existing.get("type") not in _HTTP_TYPES:
            request = {}
        request.update(uri=url, method=cleaned["method"])
        if cleaned["body"]:
            request["body"] = cleaned["body"]
        else:
            request.pop("body", None)
        kind = "Https" if url.lower().startswith("https:") else "Http"
        return {**kept, "type": kind, "request": request}

    def _queue(self) -> dict[str, Any]:
        """The queueMessage; an empty SAS token keeps the saved one (the form
        never shows it), provided the action already was a storage queue's."""
        cleaned = self.cleaned_data
        token = cleaned["queue_sas_token"]
        # Opened: job_put seals it again (scheduler/secrets.py).
        existing = action_open(self.instance.action or {}) if self.instance.pk else {}
        if not token and existing.get("type") == "StorageQueue":
            token = existing["queueMessage"].get("sasToken", "")
        return {
            "storageAccount": cleaned["queue_account"].strip(),
            "queueName": cleaned["queue_name"].strip(),
            "sasToken": token,
            "message": cleaned["queue_message"],
        }


def job_initial(job: Job) -> dict[str, Any]:
    """The form's fields from a saved job (the reverse of ``JobForm.arm_body``)."""
    initial: dict[str, Any] = {
        "start": "at" if job.start_time else "now",
        "start_at": job.start_time,
        **_action_initial(job.action or {}),
    }
    recurrence = recurrence_from_json(job.recurrence) if job.recurrence else None
    if recurrence is None:
        return {**initial, "schedule_type": "once"}
    schedule = recurrence.schedule
    initial.update(
        schedule_type="recurring",
        interval=recurrence.interval,
        frequency=recurrence.frequency,
        end="at" if recurrence.end_time else "after" if recurrence.count else "never",
        end_at=recurrence.end_time,
        count=recurrence.count,
    )
    if schedule is not None:
        occurrences = schedule.monthly_occurrences
        initial.update(
            minutes=", ".join(str(m) for m in schedule.minutes),
            hours=", ".join(str(h) for h in schedule.hours),
            week_days=list(schedule.week_days),
            month_days=[str(day) for day in schedule.month_days],
            month_weeks=sorted(
                {str(o.occurrence) for o in occurrences if o.occurrence is not None}
            ),
            month_weekdays=sorted({o.day for o in occurrences}, key=WEEK_DAYS.index),
        )
    return initial


def _action_initial(action: dict[str, Any]) -> dict[str, Any]:
    if action.get("type") == "WebJob":
        web = action.get("webJob") or {}
        return {
            "action_type": "webjob",
            "webjob_name": web.get("name", ""),
            "arguments": web.get("arguments", ""),
        }
    if action.get("type") == "StorageQueue":
        queue = action.get("queueMessage") or {}
        return {
            "action_type": "queue",
            "queue_account": queue.get("storageAccount", ""),
            "queue_name": queue.get("queueName", ""),
            "queue_message": queue.get("message", ""),
        }
    request = action.get("request") or {}
    return {
        "action_type": "http",
        "url": request.get("uri", ""),
        "method": request.get("method", "GET"),
        "body": request.get("body", ""),
    }


def _occurrences_note(job: Job) -> str:
    """A warning when the job's monthly occurrences are not every checked one
    on every checked day (the first Monday and the last Friday)."""
    recurrence = recurrence_from_json(job.recurrence) if job.recurrence else None
    if recurrence is None or recurrence.schedule is None:
        return ""
    items = recurrence.schedule.monthly_occurrences
    pairs = {(o.occurrence, o.day) for o in items}
    product = {(o.occurrence, d.day) for o in items for d in items}
    if pairs == product and all(o.occurrence is not None for o in items):
        return ""
    described = ", ".join(
        f"{'every' if o.occurrence is None else o.occurrence} {o.day}" for o in items
    )
    return NOTE_OCCURRENCES.format(items=described)


def _numbers(text: str) -> list[int]:
    parts = [part.strip() for part in text.replace(";", ",").split(",")]
    try:
        return [int(part) for part in parts if part]
    except ValueError:
        raise forms.ValidationError(ERR_NUMBERS) from None


class CollectionForm(forms.ModelForm):
    """A new job collection: where it lives and its plan (the ARM PUT body)."""

    class Meta:
        model = JobCollection
        fields = ["subscription_id", "resource_group", "name", "location", "sku"]

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.errors:
            return
        cleaned = self.cleaned_data
        try:
            self.saved, _ = collection_put(
                subscription_id=cleaned["subscription_id"],
                resource_group=cleaned["resource_group"],
                name=cleaned["name"],
                body={
                    "location": cleaned["location"],
                    "properties": {"sku": {"name": cleaned["sku"]}},
                },
            )
        except RecurrenceError as exc:
            self.add_error(None, field_message(exc))
