"""The run path's written-out statements (config/statements.py) read and write
exactly what the ORM does: every field of a run, a job (its settings JSON,
dates, nulls) and a user comes back as the ORM gives it, and an insert stores
what save() stores."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection
from django.utils import timezone

from config import statements
from core.kudu import run_id_for
from history.models import Run, RunStatus
from jobs.models import WebJob
from jobs.runner import run_claim_read
from jobs.services import webjob_get

pytestmark = pytest.mark.django_db(transaction=True)


def fields_of(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


@pytest.fixture
def job() -> WebJob:
    return WebJob.objects.create(
        name="reader",
        kind=WebJob.Kind.TRIGGERED,
        deployed_at=timezone.now(),
        settings={"schedule": "0 * * * * *", "is_singleton": True},
    )


def test_a_run_read_with_its_job_is_the_orms_run(job):
    start = timezone.now() - timedelta(minutes=3)
    run = Run.objects.create(
        job=job,
        run_id=run_id_for(start),
        trigger="test",
        start_time=start,
        end_time=start + timedelta(seconds=2),
        status=RunStatus.FAILED,
        exit_code=3,
        message="Job failed due to exit code 3",
    )
    WebJob.objects.filter(pk=job.pk).update(revision=7)

    [read] = statements.select_with(Run, "job", ("revision",), "{id} = %s", [run.pk])

    assert fields_of(read) == fields_of(Run.objects.get(pk=run.pk))
    assert read.job_revision == 7
    assert read.heartbeat_at is None and read.scheduled_time is None
    assert not read._state.adding and read._state.db == "default"
    assert statements.select_with(Run, "job", (), "{id} = %s", [run.pk + 1000]) == []


def test_a_job_read_with_its_newest_run_id_is_the_orms_job(job):
    assert (
        webjob_get(name="reader", kind="triggered", newest_run_id=True).newest_run_id
        is None
    )
    now = timezone.now()
    for minutes in (5, 1, 3):
        start = now - timedelta(minutes=minutes)
        Run.objects.create(
            job=job,
            run_id=run_id_for(start),
            trigger="t",
            start_time=start,
            status=RunStatus.SUCCESS,
        )

    read = webjob_get(name="reader", kind="triggered", newest_run_id=True)

    assert fields_of(read) == fields_of(WebJob.objects.get(pk=job.pk))
    assert read.settings == {"schedule": "0 * * * * *", "is_singleton": True}
    assert read.newest_run_id == run_id_for(now - timedelta(minutes=1))


def test_a_user_read_is_the_orms_user():
    user = User.objects.create_user("reader", password="pw", is_staff=True)

    [read] = statements.select(User, "{username} = %s", ["reader"])

    assert fields_of(read) == fields_of(User.objects.get(pk=user.pk))
    assert read.check_password("pw")


def test_an_insert_stores_what_save_stores(job):
    start = timezone.now()
    run = Run(job=job, run_id=run_id_for(start), trigger="ins", start_time=start)

    statements.insert(run)

    assert run.pk is not None and not run._state.adding
    assert fields_of(Run.objects.get(pk=run.pk)) == fields_of(run)
    twin = Run(job=job, run_id=run_id_for(start), trigger="ins", start_time=start)
    with pytest.raises(IntegrityError):  # the same run id
        statements.insert(twin)


@pytest.mark.parametrize("returning", [True, False], ids=["RETURNING", "no-RETURNING"])
def test_a_claim_reads_the_run_it_claimed_once(job, returning, monkeypatch):
    # One UPDATE ... RETURNING where the database has it, else an UPDATE and
    # a SELECT (SQLite before 3.35): the same run, claimed once either way.
    monkeypatch.setattr(
        connection.features, "can_return_columns_from_insert", returning
    )
    WebJob.objects.filter(pk=job.pk).update(revision=4)
    start = timezone.now()
    run = Run.objects.create(
        job=job, run_id=run_id_for(start), trigger="claim", start_time=start
    )

    claimed = run_claim_read(run.pk, monitor_pid=4242, status=RunStatus.RUNNING)

    assert claimed is not None and claimed.pk == run.pk
    assert (claimed.status, claimed.monitor_pid) == (RunStatus.RUNNING, 4242)
    assert fields_of(claimed) == fields_of(Run.objects.get(pk=run.pk))
    assert claimed.job_revision == 4
    assert run_claim_read(run.pk, monitor_pid=1, status=RunStatus.RUNNING) is None
    assert Run.objects.get(pk=run.pk).monitor_pid == 4242
