"""The ARM Microsoft.Scheduler API through the unmodified azure-mgmt-scheduler SDK.

A Python user points SchedulerManagementClient at the emulator and uses it as
against Azure: collections, jobs with every kind of recurrence, runs and their
history, disable/enable, delete, and the errors of bad definitions.

Recurrence tests first move the emulated clock to a fixed instant, so the
expected ``nextExecutionTime`` values are exact. Each transactional test starts
on a flushed database, where the clock is back at real time (offset 0).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.mgmt.scheduler.models import (
    BasicAuthentication,
    HttpRequest,
    JobAction,
    JobDefinition,
    JobErrorAction,
    JobProperties,
    JobRecurrence,
    JobRecurrenceSchedule,
    JobRecurrenceScheduleMonthlyOccurrence,
    RetryPolicy,
    StorageQueueMessage,
)

from tests.helpers import later, later_at
from tests.scheduler_api.conftest import (
    RG,
    SUB,
    at,
    basic_header,
    collection_model,
    http_action,
    job_model,
    soon,
    status_code,
    wait_for_history,
)

pytestmark = pytest.mark.django_db(transaction=True)

NOW = later("2030-01-15T10:00:00Z")  # a Tuesday
COLLECTION_TYPE = "Microsoft.Scheduler/jobCollections"
JOB_TYPE = "Microsoft.Scheduler/jobCollections/jobs"


def _collection_id(jc: str) -> str:
    return (
        f"/subscriptions/{SUB}/resourceGroups/{RG}"
        f"/providers/Microsoft.Scheduler/jobCollections/{jc}"
    )


def _next_run(sdk, clock, start: str, recurrence: JobRecurrence | None):
    """Create a job at NOW on the emulated clock; the job as read back."""
    clock.set(NOW)
    sdk.job_collections.create_or_update(RG, "times", collection_model())
    created = sdk.jobs.create_or_update(
        RG, "times", "job", job_model(start_time=at(start), recurrence=recurrence)
    )
    job = sdk.jobs.get(RG, "times", "job")
    assert created.properties.status.next_execution_time == (
        job.properties.status.next_execution_time
    )
    return job


# --- collections -----------------------------------------------------------------


def test_it_creates_a_standard_collection_with_its_quota(sdk):
    status, created = sdk.job_collections.create_or_update(
        RG, "jc1", collection_model("Standard"), cls=status_code
    )
    assert status == 201
    assert created.id == _collection_id("jc1")
    assert created.name == "jc1"
    assert created.type == COLLECTION_TYPE
    assert created.properties.sku.name == "Standard"
    assert created.properties.state == "Enabled"
    quota = created.properties.quota
    assert quota.max_job_count == 50
    assert (quota.max_recurrence.frequency, quota.max_recurrence.interval) == (
        "Minute",
        1,
    )
    read = sdk.job_collections.get(RG, "jc1")
    assert read.as_dict() == created.as_dict()

    status, _ = sdk.job_collections.create_or_update(
        RG, "jc1", collection_model("Standard"), cls=status_code
    )
    assert status == 200  # the same PUT again updates


@pytest.mark.parametrize(
    ("sku", "jobs", "frequency"),
    [
        ("Free", 5, "Hour"),
        ("Standard", 50, "Minute"),
        ("P10Premium", 50, "Minute"),
        ("P20Premium", 1000, "Minute"),
    ],
)
def test_it_gives_each_plan_its_default_quota(sdk, sku, jobs, frequency):
    created = sdk.job_collections.create_or_update(RG, "plan", collection_model(sku))
    quota = created.properties.quota
    assert quota.max_job_count == jobs
    assert quota.max_recurrence.frequency == frequency
    assert quota.max_recurrence.interval == 1


def test_it_lists_collections_by_resource_group_and_subscription(sdk):
    sdk.job_collections.create_or_update(RG, "alpha", collection_model())
    sdk.job_collections.create_or_update(RG, "beta", collection_model("Free"))
    sdk.job_collections.create_or_update("other-rg", "gamma", collection_model())

    in_group = {jc.name for jc in sdk.job_collections.list_by_resource_group(RG)}
    assert in_group == {"alpha", "beta"}
    everywhere = {jc.name for jc in sdk.job_collections.list_by_subscription()}
    assert everywhere == {"alpha", "beta", "gamma"}


# --- jobs: shape and defaults ----------------------------------------------------


def test_it_creates_a_job_and_reads_it_back(sdk, clock):
    clock.set(NOW)
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    action = http_action(
        "http://127.0.0.1:9/hook",
        headers={"X-Trace": "abc"},
        body="payload",
    )
    action.request.method = "POST"
    status, created = sdk.jobs.create_or_update(
        RG,
        "jc",
        "ping",
        job_model(
            action=action,
            start_time=later_at("2030-02-01T00:00:00Z"),
            recurrence=JobRecurrence(frequency="Day", interval=1),
        ),
        cls=status_code,
    )
    assert status == 201
    assert created.id == _collection_id("jc") + "/jobs/ping"
    assert created.name == "jc/ping"
    assert created.type == JOB_TYPE
    props = created.properties
    assert props.start_time == later_at("2030-02-01T00:00:00Z")
    assert props.state == "Enabled"
    assert props.action.type == "Http"
    assert props.action.request.uri == "http://127.0.0.1:9/hook"
    assert props.action.request.method == "POST"
    assert props.action.request.headers == {"X-Trace": "abc"}
    assert props.action.request.body == "payload"
    assert (props.recurrence.frequency, props.recurrence.interval) == ("Day", 1)
    assert props.status.execution_count == 0
    assert props.status.failure_count == 0
    assert props.status.faulted_count == 0
    assert props.status.last_execution_time is None
    assert props.status.next_execution_time == later_at("2030-02-01T00:00:00Z")
    assert sdk.jobs.get(RG, "jc", "ping").as_dict() == created.as_dict()

    status, updated = sdk.jobs.create_or_update(
        RG,
        "jc",
        "ping",
        job_model(
            start_time=later_at("2030-02-01T00:00:00Z"),
            recurrence=JobRecurrence(frequency="Day", interval=2),
        ),
        cls=status_code,
    )
    assert status == 200
    assert updated.properties.recurrence.interval == 2


def test_it_fills_the_default_retry_policy(sdk):
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    action = http_action()
    action.retry_policy = RetryPolicy(retry_type="Fixed")
    job = sdk.jobs.create_or_update(RG, "jc", "retry", job_model(action=action))
    policy = job.properties.action.retry_policy
    assert policy.retry_type == "Fixed"
    assert policy.retry_count == 4
    assert policy.retry_interval == timedelta(seconds=30)


def test_it_echoes_the_retry_interval_in_the_sdks_format(sdk):
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    action = http_action()
    action.retry_policy = RetryPolicy(
        retry_type="Fixed", retry_interval=timedelta(minutes=2), retry_count=7
    )
    sdk.jobs.create_or_update(RG, "jc", "retry", job_model(action=action))
    policy = sdk.jobs.get(RG, "jc", "retry").properties.action.retry_policy
    assert policy.retry_interval == timedelta(minutes=2)
    assert policy.retry_count == 7


# --- jobs: nextExecutionTime of each kind of recurrence --------------------------


def test_it_schedules_a_one_time_job_at_its_future_start(sdk, clock):
    job = _next_run(sdk, clock, later("2030-01-20T08:30:00Z"), None)
    assert job.properties.recurrence is None
    assert job.properties.status.next_execution_time == at(
        later("2030-01-20T08:30:00Z")
    )


def test_it_schedules_every_n_minutes_from_a_past_start(sdk, clock):
    # 09:00 + 7 min steps: 09:56 is past at 10:00, 10:03 is the next.
    rec = JobRecurrence(frequency="Minute", interval=7)
    job = _next_run(sdk, clock, later("2030-01-15T09:00:00Z"), rec)
    assert job.properties.status.next_execution_time == at(
        later("2030-01-15T10:03:00Z")
    )


def test_it_schedules_hourly_at_the_given_minutes(sdk, clock):
    rec = JobRecurrence(
        frequency="Hour", interval=1, schedule=JobRecurrenceSchedule(minutes=[15, 45])
    )
    job = _next_run(sdk, clock, later("2030-01-15T10:20:00Z"), rec)
    assert job.properties.status.next_execution_time == at(
        later("2030-01-15T10:45:00Z")
    )
    assert job.properties.recurrence.schedule.minutes == [15, 45]


def test_it_schedules_weekly_on_week_days_hours_and_minutes(sdk, clock):
    # Start on Tuesday 10:00; the first Monday/Thursday at 09:30 or 17:30 after it.
    rec = JobRecurrence(
        frequency="Week",
        interval=1,
        schedule=JobRecurrenceSchedule(
            week_days=["Monday", "Thursday"], hours=[17, 9], minutes=[30]
        ),
    )
    job = _next_run(sdk, clock, later("2030-01-15T10:00:00Z"), rec)
    assert job.properties.status.next_execution_time == at(
        later("2030-01-17T09:30:00Z")
    )
    schedule = job.properties.recurrence.schedule
    assert set(schedule.week_days) == {"Monday", "Thursday"}


def test_it_schedules_monthly_on_the_last_day_of_the_month(sdk, clock):
    rec = JobRecurrence(
        frequency="Month",
        interval=1,
        schedule=JobRecurrenceSchedule(month_days=[15, -1], hours=[6], minutes=[0]),
    )
    job = _next_run(sdk, clock, later("2030-02-16T00:00:00Z"), rec)
    assert job.properties.status.next_execution_time == at(
        later("2030-02-28T06:00:00Z")
    )
    assert sorted(job.properties.recurrence.schedule.month_days) == [-1, 15]


def test_it_schedules_monthly_on_the_last_friday(sdk, clock):
    rec = JobRecurrence(
        frequency="Month",
        interval=1,
        schedule=JobRecurrenceSchedule(
            monthly_occurrences=[
                JobRecurrenceScheduleMonthlyOccurrence(day="Friday", occurrence=-1),
                JobRecurrenceScheduleMonthlyOccurrence(day="Monday", occurrence=1),
            ],
            hours=[5],
            minutes=[15],
        ),
    )
    # The first Monday (Jan 7) is before the start; the last Friday is Jan 25.
    job = _next_run(sdk, clock, later("2030-01-16T00:00:00Z"), rec)
    assert job.properties.status.next_execution_time == at(
        later("2030-01-25T05:15:00Z")
    )
    occurrences = job.properties.recurrence.schedule.monthly_occurrences
    assert {(o.day, o.occurrence) for o in occurrences} == {
        ("Friday", -1),
        ("Monday", 1),
    }


def test_it_schedules_a_counted_recurrence(sdk, clock):
    rec = JobRecurrence(frequency="Day", interval=1, count=3)
    job = _next_run(sdk, clock, later("2030-01-14T09:00:00Z"), rec)
    assert job.properties.status.next_execution_time == at(
        later("2030-01-16T09:00:00Z")
    )
    assert job.properties.recurrence.count == 3


def test_it_schedules_until_the_end_time(sdk, clock):
    rec = JobRecurrence(
        frequency="Hour", interval=2, end_time=later_at("2030-01-15T14:30:00Z")
    )
    job = _next_run(sdk, clock, later("2030-01-15T10:30:00Z"), rec)
    assert job.properties.status.next_execution_time == at(
        later("2030-01-15T10:30:00Z")
    )
    assert job.properties.recurrence.end_time == later_at("2030-01-15T14:30:00Z")


def test_it_has_no_next_run_once_the_end_time_has_passed(sdk, clock):
    rec = JobRecurrence(
        frequency="Day", interval=1, end_time=later_at("2030-01-15T09:30:00Z")
    )
    job = _next_run(sdk, clock, later("2030-01-13T09:00:00Z"), rec)
    assert job.properties.status.next_execution_time is None


# --- running and history ---------------------------------------------------------


def test_it_runs_a_job_and_pages_its_history(sdk, clock, target):
    emulated = clock.set(NOW)
    uri = target.reply(
        "/hook", (200, "first answer"), (200, "second answer"), (500, "third: boom")
    )
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    action = http_action(uri)
    action.retry_policy = RetryPolicy(retry_type="None")
    # A start ahead of the emulated now: no run but the three below.
    start = later_at("2030-02-01T00:00:00Z")
    sdk.jobs.create_or_update(
        RG, "jc", "hook", job_model(action=action, start_time=start)
    )

    for expected in (1, 2, 3):
        assert sdk.jobs.run(RG, "jc", "hook") is None
        wait_for_history(sdk, "jc", "hook", expected)
    assert [seen.path for seen in target.seen] == ["/hook"] * 3

    pages = [
        list(page)
        for page in sdk.jobs.list_job_history(RG, "jc", "hook", top=1).by_page()
    ]
    assert [len(page) for page in pages] == [1, 1, 1]
    entries = [page[0].properties for page in pages]  # newest first
    assert [e.status for e in entries] == ["Failed", "Completed", "Completed"]
    assert "third: boom" in entries[0].message
    assert "second answer" in entries[1].message
    assert "first answer" in entries[2].message
    for entry in entries:
        assert entry.action_name == "MainAction"
        assert entry.retry_count == 0
        assert emulated <= entry.start_time <= entry.end_time
        assert entry.end_time - emulated < timedelta(seconds=60)
    assert entries[0].start_time >= entries[1].start_time >= entries[2].start_time

    status = sdk.jobs.get(RG, "jc", "hook").properties.status
    assert status.execution_count == 3
    assert status.failure_count == 1
    last_run = abs(status.last_execution_time - entries[0].start_time)
    assert last_run < timedelta(seconds=2)

    second = list(sdk.jobs.list_job_history(RG, "jc", "hook", top=1, skip=1))
    assert [h.properties.message for h in second][:1] == [entries[1].message]
    failed = list(
        sdk.jobs.list_job_history(RG, "jc", "hook", filter="status eq Failed")
    )
    assert [h.properties.status for h in failed] == ["Failed"]
    done = list(
        sdk.jobs.list_job_history(RG, "jc", "hook", filter="STATUS EQ 'completed'")
    )
    assert [h.properties.status for h in done] == ["Completed", "Completed"]


def test_it_sends_the_defined_request_with_basic_authentication(sdk, target):
    uri = target.reply("/in", (202, "accepted"))
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    action = JobAction(
        type="Http",
        request=HttpRequest(
            uri=uri + "?q=1",
            method="PUT",
            headers={"X-Custom": "yes", "Content-Type": "text/plain"},
            body="hello target",
            authentication=BasicAuthentication(username="bob", password="bobs-pw"),
        ),
    )
    sdk.jobs.create_or_update(RG, "jc", "caller", job_model(action=action))
    sdk.jobs.run(RG, "jc", "caller")
    [entry] = wait_for_history(sdk, "jc", "caller", 1)

    assert entry.properties.status == "Completed"  # any 2xx is a success
    [seen] = target.seen
    assert (seen.method, seen.path, seen.body) == ("PUT", "/in", b"hello target")
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["x-custom"] == "yes"
    assert headers["authorization"] == basic_header("bob", "bobs-pw")


def test_it_keeps_the_first_2048_bytes_of_a_response_body(sdk, target):
    uri = target.reply("/big", (200, "x" * 2048 + "TAILMARK" * 500))
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    sdk.jobs.create_or_update(RG, "jc", "big", job_model(action=http_action(uri)))
    sdk.jobs.run(RG, "jc", "big")
    [entry] = wait_for_history(sdk, "jc", "big", 1)
    assert "x" * 2048 in entry.properties.message
    assert "TAILMARK" not in entry.properties.message


def test_it_lists_jobs_in_pages_and_by_state(sdk):
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    for name in ("a", "b", "c"):
        sdk.jobs.create_or_update(RG, "jc", name, job_model())
    sdk.jobs.create_or_update(RG, "jc", "off", job_model(state="Disabled"))

    pages = [list(page) for page in sdk.jobs.list(RG, "jc", top=1).by_page()]
    assert [len(page) for page in pages] == [1, 1, 1, 1]
    assert {page[0].name for page in pages} == {"jc/a", "jc/b", "jc/c", "jc/off"}
    enabled = sdk.jobs.list(RG, "jc", filter="state eq 'Enabled'")
    assert sorted(job.name for job in enabled) == ["jc/a", "jc/b", "jc/c"]
    disabled = sdk.jobs.list(RG, "jc", filter="state eq disabled")
    assert [job.name for job in disabled] == ["jc/off"]


# --- disable, enable, delete -----------------------------------------------------


def test_it_disables_a_job_with_patch(sdk):
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    sdk.jobs.create_or_update(
        RG, "jc", "j", job_model(recurrence=JobRecurrence(frequency="Hour"))
    )
    patched = sdk.jobs.patch(
        RG, "jc", "j", JobDefinition(properties=JobProperties(state="Disabled"))
    )
    assert patched.properties.state == "Disabled"
    job = sdk.jobs.get(RG, "jc", "j")
    assert job.properties.state == "Disabled"
    # PATCH carries the other properties over.
    assert job.properties.recurrence.frequency == "Hour"
    assert job.properties.action.request.uri == http_action().request.uri


def test_it_disables_and_enables_a_collection_and_its_jobs(sdk):
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    sdk.jobs.create_or_update(RG, "jc", "j", job_model())

    sdk.job_collections.begin_disable(RG, "jc").result()
    assert sdk.job_collections.get(RG, "jc").properties.state == "Disabled"
    assert sdk.jobs.get(RG, "jc", "j").properties.state == "Disabled"

    sdk.job_collections.begin_enable(RG, "jc").result()
    assert sdk.job_collections.get(RG, "jc").properties.state == "Enabled"
    assert sdk.jobs.get(RG, "jc", "j").properties.state == "Enabled"


def test_it_deletes_a_job(sdk):
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    sdk.jobs.create_or_update(RG, "jc", "gone", job_model())
    sdk.jobs.create_or_update(RG, "jc", "kept", job_model())
    sdk.jobs.delete(RG, "jc", "gone")
    with pytest.raises(ResourceNotFoundError):
        sdk.jobs.get(RG, "jc", "gone")
    assert [job.name for job in sdk.jobs.list(RG, "jc")] == ["jc/kept"]


def test_it_deletes_a_collection_with_its_jobs(sdk):
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    sdk.jobs.create_or_update(RG, "jc", "j", job_model())
    sdk.job_collections.begin_delete(RG, "jc").result()
    with pytest.raises(ResourceNotFoundError):
        sdk.job_collections.get(RG, "jc")
    with pytest.raises(ResourceNotFoundError):
        sdk.jobs.get(RG, "jc", "j")
    assert list(sdk.job_collections.list_by_resource_group(RG)) == []


# --- bad definitions -------------------------------------------------------------


def _schedule(**values) -> JobRecurrenceSchedule:
    return JobRecurrenceSchedule(**values)


def _occurrence(day: str, number: int) -> JobRecurrenceScheduleMonthlyOccurrence:
    return JobRecurrenceScheduleMonthlyOccurrence(day=day, occurrence=number)


BAD_RECURRENCES = {
    "unknown frequency": (
        JobRecurrence(frequency="Year"),
        "properties.recurrence.frequency",
    ),
    "interval 0": (
        JobRecurrence(frequency="Hour", interval=0),
        "properties.recurrence.interval",
    ),
    "interval over the maximum": (
        JobRecurrence(frequency="Day", interval=549),
        "properties.recurrence.interval",
    ),
    "weekDays with Day": (
        JobRecurrence(frequency="Day", schedule=_schedule(week_days=["Monday"])),
        "properties.recurrence.schedule.weekDays",
    ),
    "monthDays with Week": (
        JobRecurrence(frequency="Week", schedule=_schedule(month_days=[1])),
        "properties.recurrence.schedule.monthDays",
    ),
    "monthlyOccurrences with Day": (
        JobRecurrence(
            frequency="Day",
            schedule=_schedule(monthly_occurrences=[_occurrence("Friday", 1)]),
        ),
        "properties.recurrence.schedule.monthlyOccurrences",
    ),
    "minute 60": (
        JobRecurrence(frequency="Hour", schedule=_schedule(minutes=[0, 60])),
        "properties.recurrence.schedule.minutes",
    ),
    "hour 24": (
        JobRecurrence(frequency="Day", schedule=_schedule(hours=[24])),
        "properties.recurrence.schedule.hours",
    ),
    "month day 32": (
        JobRecurrence(frequency="Month", schedule=_schedule(month_days=[32])),
        "properties.recurrence.schedule.monthDays",
    ),
    "month day 0": (
        JobRecurrence(frequency="Month", schedule=_schedule(month_days=[0])),
        "properties.recurrence.schedule.monthDays",
    ),
    "occurrence 6": (
        JobRecurrence(
            frequency="Month",
            schedule=_schedule(monthly_occurrences=[_occurrence("Friday", 6)]),
        ),
        # The SDK sends "Occurrence", the docs write "occurrence": either case.
        "properties.recurrence.schedule.monthlyoccurrences[0].occurrence",
    ),
    "endTime before startTime": (
        # Before job_model's start (soon(): a month ahead of real time).
        JobRecurrence(frequency="Day", end_time=soon() - timedelta(days=1)),
        "properties.recurrence.endTime",
    ),
}


@pytest.mark.parametrize("case", list(BAD_RECURRENCES), ids=list(BAD_RECURRENCES))
def test_it_refuses_a_bad_recurrence_naming_its_field(sdk, case):
    recurrence, field = BAD_RECURRENCES[case]
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    with pytest.raises(HttpResponseError) as caught:
        sdk.jobs.create_or_update(
            RG,
            "jc",
            "bad",
            job_model(recurrence=recurrence),
        )
    _assert_error(caught.value, 400, "BadRequest", field)
    with pytest.raises(ResourceNotFoundError):
        sdk.jobs.get(RG, "jc", "bad")


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        (
            RetryPolicy(retry_type="Fixed", retry_interval=timedelta(seconds=14)),
            "properties.action.retryPolicy.retryInterval",
        ),
        (
            RetryPolicy(retry_type="Fixed", retry_count=21),
            "properties.action.retryPolicy.retryCount",
        ),
    ],
    ids=["interval 14 s", "count 21"],
)
def test_it_refuses_a_bad_retry_policy_naming_its_field(sdk, policy, field):
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    action = http_action()
    action.retry_policy = policy
    with pytest.raises(HttpResponseError) as caught:
        sdk.jobs.create_or_update(RG, "jc", "bad", job_model(action=action))
    _assert_error(caught.value, 400, "BadRequest", field)


def test_it_refuses_a_sixth_job_in_a_free_collection(sdk):
    sdk.job_collections.create_or_update(RG, "free", collection_model("Free"))
    for number in range(5):
        sdk.jobs.create_or_update(RG, "free", f"j{number}", job_model())
    with pytest.raises(ResourceExistsError) as caught:
        sdk.jobs.create_or_update(RG, "free", "j5", job_model())
    _assert_error(caught.value, 409, "Conflict")
    assert len(list(sdk.jobs.list(RG, "free"))) == 5
    sdk.jobs.create_or_update(RG, "free", "j0", job_model())  # updates still fit


def test_it_refuses_a_recurrence_more_frequent_than_a_free_collection_allows(sdk):
    sdk.job_collections.create_or_update(RG, "free", collection_model("Free"))
    with pytest.raises(ResourceExistsError) as caught:
        sdk.jobs.create_or_update(
            RG,
            "free",
            "often",
            job_model(recurrence=JobRecurrence(frequency="Minute", interval=30)),
        )
    _assert_error(caught.value, 409, "Conflict", "properties.recurrence")
    sdk.jobs.create_or_update(  # once an hour is allowed
        RG, "free", "hourly", job_model(recurrence=JobRecurrence(frequency="Hour"))
    )


# A SAS's shape (the service checks it when the message is sent, not here).
SAS = "sv=2026-10-06&se=2031-01-01T00%3A00%3A00Z&sp=a&sig=c2lnbmF0dXJl"


def test_it_creates_a_storage_queue_job_and_never_echoes_its_sas_token(sdk):
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    action = JobAction(
        type="StorageQueue",
        queue_message=StorageQueueMessage(
            storage_account="devstoreaccount1",
            queue_name="orders",
            sas_token=SAS,
            message="nightly rebuild",
        ),
        retry_policy=RetryPolicy(retry_type="None"),
        error_action=JobErrorAction(
            type="StorageQueue",
            queue_message=StorageQueueMessage(
                storage_account="devstoreaccount1",
                queue_name="orders-poison",
                sas_token=SAS,
                message="nightly rebuild failed",
            ),
        ),
    )
    status, created = sdk.jobs.create_or_update(
        RG, "jc", "enqueue", job_model(action=action), cls=status_code
    )
    assert status == 201
    for job in (created, sdk.jobs.get(RG, "jc", "enqueue")):
        read = job.properties.action
        assert read.type == "StorageQueue"
        queue = read.queue_message
        assert (queue.storage_account, queue.queue_name, queue.message) == (
            "devstoreaccount1",
            "orders",
            "nightly rebuild",
        )
        assert queue.sas_token is None  # as Azure: the secret is never returned
        assert read.retry_policy.retry_type == "None"
        error = read.error_action
        assert error.type == "StorageQueue"
        assert error.queue_message.queue_name == "orders-poison"
        assert error.queue_message.sas_token is None


@pytest.mark.parametrize(
    ("queue", "field"),
    [
        (
            StorageQueueMessage(
                storage_account="MyStorage",
                queue_name="orders",
                sas_token=SAS,
                message="hello",
            ),
            "properties.action.queueMessage.storageAccount",
        ),
        (
            StorageQueueMessage(
                storage_account="devstoreaccount1",
                queue_name="orders",
                message="hello",
            ),
            "properties.action.queueMessage.sasToken",
        ),
    ],
    ids=["account name", "no SAS token"],
)
def test_it_refuses_a_bad_queue_message_naming_its_field(sdk, queue, field):
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    action = JobAction(type="StorageQueue", queue_message=queue)
    with pytest.raises(HttpResponseError) as caught:
        sdk.jobs.create_or_update(RG, "jc", "bad", job_model(action=action))
    _assert_error(caught.value, 400, "BadRequest", field)
    with pytest.raises(ResourceNotFoundError):
        sdk.jobs.get(RG, "jc", "bad")


def test_it_refuses_to_patch_a_job_to_completed(sdk):
    sdk.job_collections.create_or_update(RG, "jc", collection_model())
    sdk.jobs.create_or_update(RG, "jc", "j", job_model())
    with pytest.raises(ResourceExistsError) as caught:
        sdk.jobs.patch(
            RG, "jc", "j", JobDefinition(properties=JobProperties(state="Completed"))
        )
    _assert_error(caught.value, 409, "Conflict", "properties.state")
    assert sdk.jobs.get(RG, "jc", "j").properties.state == "Enabled"


def _assert_error(
    error: HttpResponseError, status: int, code: str, field: str | None = None
) -> None:
    assert error.status_code == status, str(error)
    assert error.error is not None and error.error.code == code, str(error)
    if field is not None:
        assert field.lower() in error.error.message.lower(), str(error)
        assert field.lower() in str(error).lower()
