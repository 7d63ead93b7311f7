"""Staff only: a non-staff user sees nothing, a staff user sees what their model
permissions allow, and actions need the matching permission."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from scheduler.models import Job, JobHistory
from scheduler.services import job_put

pytestmark = pytest.mark.django_db(transaction=True)

VIEW_ALL = [
    "jobs.view_webjob",
    "history.view_run",
    "scheduler.view_job",
    "scheduler.view_jobcollection",
    "scheduler.view_jobhistory",
]


def signed_in(
    client, django_user_model, *, staff: bool, perms=(), username: str = "someone"
):
    user = django_user_model.objects.create_user(
        username, password="pw-12345", is_staff=staff
    )
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client.force_login(user)
    return client


@pytest.fixture
def job(collection) -> Job:
    return job_put(
        collection=collection,
        name="ping",
        body={
            "properties": {
                "action": {"type": "Http", "request": {"uri": "http://127.0.0.1:9/"}},
                "recurrence": {"frequency": "Hour", "interval": 1},
            }
        },
    )[0]


@pytest.fixture
def run(api):
    api.deploy_fixture("hello", "hello.sh")
    return api.run_and_wait("hello")


def urls(job, run) -> list[str]:
    from history.models import Run

    run_pk, webjob_pk = Run.objects.values_list("pk", "job_id").get(run_id=run["id"])
    return [
        reverse("admin:index"),
        reverse("admin:dashboard"),
        reverse("admin:history_run_change", args=[run_pk]),
        reverse("admin:history_run_log", args=[run_pk]),
        reverse("admin:jobs_webjob_changelist"),
        reverse("admin:jobs_webjob_change", args=[webjob_pk]),
        reverse("admin:scheduler_job_add"),
        reverse("admin:scheduler_job_change", args=[job.pk]),
    ]


def test_it_sends_a_user_who_is_not_staff_to_the_login_page(
    client, django_user_model, job, run
):
    client = signed_in(client, django_user_model, staff=False, perms=VIEW_ALL)
    for url in urls(job, run):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url
    response = client.post(reverse("admin:scheduler_job_run_now", args=[job.pk]))
    assert response.status_code == 302
    assert not JobHistory.objects.exists()


def test_it_shows_nothing_to_staff_without_permissions(
    client, django_user_model, job, run
):
    client = signed_in(client, django_user_model, staff=True)
    index = client.get(reverse("admin:index")).content.decode()
    assert "permission to view or edit anything" in index
    assert "History dashboard" not in index and "Dashboard" not in index
    for url in urls(job, run)[1:]:
        assert client.get(url).status_code == 403, url


def test_it_lets_view_only_staff_look_but_not_act(client, django_user_model, job, run):
    client = signed_in(client, django_user_model, staff=True, perms=VIEW_ALL)
    add = reverse("admin:scheduler_job_add")
    for url in urls(job, run):
        assert client.get(url).status_code == (403 if url == add else 200), url
    page = client.get(reverse("admin:scheduler_job_change", args=[job.pk]))
    text = page.content.decode()
    assert ">Run now</button>" not in text and 'name="_save"' not in text
    assert "Every hour" in text  # the read-only view still explains the job
    for name in ("run_now", "enable", "disable"):
        response = client.post(reverse(f"admin:scheduler_job_{name}", args=[job.pk]))
        assert response.status_code == 403, name
    changelist = client.get(reverse("admin:scheduler_job_changelist")).content
    assert b'value="run_now"' not in changelist
    client.post(
        reverse("admin:scheduler_job_changelist"),
        {"action": "run_now", "_selected_action": [job.pk]},
    )
    assert not JobHistory.objects.exists()
    job.refresh_from_db()
    assert job.state == "Enabled"


def test_it_lets_staff_with_change_permission_disable_but_not_run_a_job(
    client, django_user_model, job
):
    client = signed_in(
        client, django_user_model, staff=True, perms=[*VIEW_ALL, "scheduler.change_job"]
    )
    text = client.get(reverse("admin:scheduler_job_change", args=[job.pk])).content
    assert b">Run now</button>" not in text and b'name="_save"' in text
    response = client.post(reverse("admin:scheduler_job_run_now", args=[job.pk]))
    assert response.status_code == 403  # running the action is its own permission
    response = client.post(reverse("admin:scheduler_job_disable", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == "Disabled"
    assert not JobHistory.objects.exists()


def test_it_lets_staff_with_run_permission_run_a_job(client, django_user_model, job):
    client = signed_in(
        client, django_user_model, staff=True, perms=[*VIEW_ALL, "scheduler.run_job"]
    )
    text = client.get(reverse("admin:scheduler_job_change", args=[job.pk])).content
    assert b">Run now</button>" in text and b'name="_save"' not in text
    response = client.post(reverse("admin:scheduler_job_run_now", args=[job.pk]))
    assert response.status_code == 302
    assert job.attempts.filter(manual=True).exists()


def test_it_hides_webjob_actions_from_view_only_staff(client, django_user_model, api):
    from jobs.models import WebJob

    api.deploy_fixture("hello", "hello.sh")
    job = WebJob.objects.get(name="hello")
    client = signed_in(client, django_user_model, staff=True, perms=VIEW_ALL)
    page = client.get(reverse("admin:jobs_webjob_changelist")).content.decode()
    assert ">hello<" in page
    assert "Run…" not in page and "Delete…" not in page and ">Actions<" not in page
    assert 'value="run_selected"' not in page
    for name in ("run", "start", "stop"):
        url = reverse(f"admin:jobs_webjob_{name}", args=[job.pk])
        assert client.post(url).status_code in (403, 404), name
    # Refused, not merely answered: nothing ran, nothing changed.
    job.refresh_from_db()
    assert not job.runs.exists() and not job.is_stopped
    assert (
        client.get(reverse("admin:jobs_webjob_run", args=[job.pk])).status_code == 403
    )
    assert (
        client.post(reverse("admin:jobs_webjob_delete", args=[job.pk])).status_code
        == 403
    )
    assert not job.runs.exists() and WebJob.objects.filter(pk=job.pk).exists()


def test_it_lets_staff_with_run_permission_run_a_webjob(client, django_user_model, api):
    from jobs.models import WebJob

    api.deploy_fixture("hello", "hello.sh")
    job = WebJob.objects.get(name="hello")
    changer = signed_in(
        client, django_user_model, staff=True, perms=[*VIEW_ALL, "jobs.change_webjob"]
    )
    page = changer.get(reverse("admin:jobs_webjob_changelist")).content.decode()
    assert "Run…" not in page  # changing a job is not running it
    assert (
        changer.post(reverse("admin:jobs_webjob_run", args=[job.pk])).status_code == 403
    )
    assert not job.runs.exists()
    changer.logout()
    runner = signed_in(
        client,
        django_user_model,
        staff=True,
        perms=[*VIEW_ALL, "jobs.run_webjob"],
        username="runner",
    )
    page = runner.get(reverse("admin:jobs_webjob_changelist")).content.decode()
    assert "Run…" in page and "Delete…" not in page  # no delete permission
    response = runner.post(reverse("admin:jobs_webjob_run", args=[job.pk]))
    assert response.status_code == 302
    assert job.runs.count() == 1
