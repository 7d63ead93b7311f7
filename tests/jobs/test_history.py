"""Run history: retention, Kudu's formats, runs whose host went away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import timezone as fixed_zone

import pytest
from django.db import connection
from django.utils import timezone

from core.kudu import iso_utc, log_line, run_id_for, timespan
from history.models import Run, RunStatus
from history.services import run_trim
from jobs.models import WebJob

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_formats_run_ids_as_kudu_with_four_fraction_digits():
    when = datetime(2024, 5, 1, 12, 30, 45, 123456, tzinfo=UTC)
    assert run_id_for(when) == "202405011230451234"


def test_it_formats_times_and_durations_as_json_net():
    assert iso_utc(datetime(2024, 5, 1, 12, 30, 45, 123400, tzinfo=UTC)) == (
        "2024-05-01T12:30:45.1234Z"
    )
    assert (
        iso_utc(datetime(2024, 5, 1, 12, 30, 45, tzinfo=UTC)) == "2024-05-01T12:30:45Z"
    )
    assert iso_utc(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00Z"
    assert (
        iso_utc(
            datetime(2024, 5, 1, 14, 30, 45, 10, tzinfo=fixed_zone(timedelta(hours=2)))
        )
        == "2024-05-01T12:30:45.00001Z"
    )
    assert timespan(timedelta(seconds=5, microseconds=333332)) == "00:00:05.3333320"
    assert timespan(timedelta(days=1, hours=2, minutes=3, seconds=4)) == "1.02:03:04"


def test_it_writes_kudus_log_line_format():
    when = datetime(2017, 11, 8, 12, 59, 38, tzinfo=UTC)
    assert log_line(when, "4f8305abc", "Status changed to Running") == (
        "[11/08/2017 12:59:38 > 4f8305: SYS INFO] Status changed to Running\n"
    )
    assert log_line(when, "4f8305", "oops", level="ERR", system=False) == (
        "[11/08/2017 12:59:38 > 4f8305: ERR ] oops\n"
    )


def old_runs(job: WebJob, count: int, base: datetime) -> list[Run]:
    """`count` ended runs of `job`, a minute apart from `base`."""
    runs = []
    for i in range(count):
        start = base + timedelta(minutes=i)
        runs.append(
            Run.objects.create(
                job=job,
                run_id=run_id_for(start),
                trigger="old",
                start_time=start,
                end_time=start,
                status=RunStatus.SUCCESS,
            )
        )
    return runs


def test_it_keeps_the_last_30_runs_and_deletes_older_folders(api, settings):
    assert settings.WEBJOBS_HISTORY_SIZE == 30
    api.deploy_fixture("hello", "hello.sh")
    job = WebJob.objects.get(name="hello")
    base = datetime(2020, 1, 1, tzinfo=UTC)
    for run in old_runs(job, 30, base):
        run.data_dir.mkdir(parents=True)
        run.output_path.write_text("old log\n")
    oldest = job.data_dir / run_id_for(base)
    assert oldest.exists()
    new = api.run_and_wait("hello")
    runs = api.get("/api/triggeredwebjobs/hello/history").json()["runs"]
    assert len(runs) == 30
    assert runs[0]["id"] == new["id"]  # newest first
    assert runs[-1]["id"] == run_id_for(base + timedelta(minutes=1))
    assert not oldest.exists()
    assert len([p for p in job.data_dir.iterdir() if p.is_dir()]) == 30


def test_it_reports_a_run_whose_monitor_went_silent_as_aborted(api):
    api.deploy_fixture("hello", "hello.sh")
    job = WebJob.objects.get(name="hello")
    start = timezone.now() - timedelta(minutes=5)
    Run.objects.create(
        job=job,
        run_id=run_id_for(start),
        trigger="t",
        start_time=start,
        status=RunStatus.RUNNING,
        monitor_pid=999999,
        heartbeat_at=start,
    )
    history = api.get("/api/triggeredwebjobs/hello/history").json()
    assert history["runs"][0]["status"] == "Aborted"
    assert history["runs"][0]["end_time"] == "0001-01-01T00:00:00"
    # The dead run no longer holds the job's lock: a new run starts.
    assert api.run_and_wait("hello")["status"] == "Success"


def test_it_answers_404_for_an_unknown_run(api):
    api.deploy_fixture("hello", "hello.sh")
    response = api.get("/api/triggeredwebjobs/hello/history/123")
    assert response.status_code == 404


def test_it_answers_304_when_the_history_has_not_changed(api):
    api.deploy_fixture("hello", "hello.sh")
    api.run_and_wait("hello")
    first = api.get("/api/triggeredwebjobs/hello/history")
    etag = first["ETag"]
    again = api.get("/api/triggeredwebjobs/hello/history", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304


def test_it_keeps_30_runs_when_the_newest_ended_before_the_trim(api, settings):
    # A quick run can end before the request that started it trims.
    api.deploy_fixture("hello", "hello.sh")
    job = WebJob.objects.get(name="hello")
    base = datetime(2020, 1, 1, tzinfo=UTC)
    old_runs(job, 31, base)
    run_trim(job=job)
    runs = api.get("/api/triggeredwebjobs/hello/history").json()["runs"]
    assert len(runs) == 30
    assert runs[-1]["id"] == run_id_for(base + timedelta(minutes=1))


@pytest.mark.parametrize("returning", [True, False], ids=["RETURNING", "no-RETURNING"])
def test_a_trim_removes_ended_runs_beyond_30_but_never_one_going(
    api, returning, monkeypatch
):
    # One DELETE ... RETURNING where the database has it, else a SELECT and
    # a DELETE (SQLite before 3.35): the same runs go either way.
    monkeypatch.setattr(
        connection.features, "can_return_columns_from_insert", returning
    )
    api.deploy_fixture("hello", "hello.sh")
    job = WebJob.objects.get(name="hello")
    base = timezone.now() - timedelta(days=1)
    going = Run.objects.create(
        job=job,
        run_id=run_id_for(base - timedelta(minutes=5)),
        trigger="t",
        start_time=base - timedelta(minutes=5),
        status=RunStatus.RUNNING,
    )
    ended = old_runs(job, 32, base)

    folders = run_trim(job=job, remove=False)

    assert sorted(folders) == sorted(job.data_dir / r.run_id for r in ended[:2])
    left = set(Run.objects.filter(job=job).values_list("pk", flat=True))
    assert left == {going.pk, *(r.pk for r in ended[2:])}
