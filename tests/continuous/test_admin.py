"""The portal for continuous jobs: add as Continuous, statuses, Start / Stop."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from jobs.models import WebJob
from tests.continuous.conftest import SH_LOOP

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def portal(client, user):
    client.force_login(user)
    return client


def test_it_offers_continuous_under_how_to_run_and_adds_one(portal):
    page = portal.get(reverse("admin:jobs_webjob_add")).content.decode()
    assert "How to run" in page
    assert '<option value="continuous">Continuous</option>' in page
    response = portal.post(
        reverse("admin:jobs_webjob_add"),
        {
            "name": "worker",
            "kind": "continuous",
            "package": SimpleUploadedFile("run.sh", SH_LOOP.encode()),
        },
    )
    assert response.status_code == 302
    assert WebJob.objects.get(name="worker").kind == "continuous"
    page = portal.get(reverse("admin:jobs_webjob_changelist")).content.decode()
    assert "Continuous" in page
    assert "testin - Initializing" in page
    assert "/vfs/data/jobs/continuous/worker/job_log.txt" in page


def test_it_stops_and_starts_selected_jobs_and_warns_for_triggered_ones(
    portal, cont, api
):
    cont.deploy("worker", "run.sh", SH_LOOP)
    api.deploy_fixture("hello", "hello.sh")
    worker = WebJob.objects.get(name="worker")
    hello = WebJob.objects.get(name="hello")
    changelist = reverse("admin:jobs_webjob_changelist")
    response = portal.post(
        changelist,
        {"action": "stop_selected", "_selected_action": [worker.pk, hello.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "Worker: stopped." in page  # the admin capitalises messages
    assert "Hello: only continuous WebJobs are started and stopped" in page
    worker.refresh_from_db()
    assert worker.is_stopped
    assert "testin - Stopped" in page
    change = portal.get(reverse("admin:jobs_webjob_change", args=[worker.pk]))
    assert "Stopped (until started)" in change.content.decode()
    portal.post(
        changelist, {"action": "start_selected", "_selected_action": [worker.pk]}
    )
    worker.refresh_from_db()
    assert not worker.is_stopped


def test_it_offers_start_and_stop_only_to_staff_who_may_change_webjobs(
    client, django_user_model, cont
):
    from django.contrib.auth.models import Permission

    cont.deploy("worker", "run.sh", SH_LOOP)
    viewer = django_user_model.objects.create_user(
        "viewer", password="pw-12345", is_staff=True
    )
    viewer.user_permissions.add(Permission.objects.get(codename="view_webjob"))
    client.force_login(viewer)
    changelist = reverse("admin:jobs_webjob_changelist")
    page = client.get(changelist).content.decode()
    assert "testin - Initializing" in page
    assert 'value="stop_selected"' not in page
    worker = WebJob.objects.get(name="worker")
    client.post(
        changelist, {"action": "stop_selected", "_selected_action": [worker.pk]}
    )
    worker.refresh_from_db()
    assert not worker.is_stopped
