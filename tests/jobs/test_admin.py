"""The portal's WebJobs pages: list, add by upload, run, run details, download."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from history.models import Run
from jobs.models import WebJob
from tests.helpers import FIXTURES, make_zip

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def portal(client, user):
    client.force_login(user)
    return client


def add(portal, name: str, upload: SimpleUploadedFile):
    return portal.post(
        reverse("admin:jobs_webjob_add"),
        {"name": name, "kind": "triggered", "package": upload},
    )


def test_it_adds_a_webjob_by_upload_and_lists_it(portal):
    response = add(
        portal,
        "hello",
        SimpleUploadedFile("hello.sh", (FIXTURES / "hello.sh").read_bytes()),
    )
    assert response.status_code == 302
    job = WebJob.objects.get(name="hello")
    assert job.run_command == "hello.sh"
    page = portal.get(reverse("admin:jobs_webjob_changelist")).content.decode()
    assert "hello" in page and "Triggered" in page and "Logs" in page


def test_it_shows_the_same_validation_as_the_api(portal):
    response = add(portal, "bad", SimpleUploadedFile("p.zip", make_zip({"a.txt": "x"})))
    assert response.status_code == 200
    assert "No runnable script file was found." in response.content.decode()
    response = add(portal, "bad name", SimpleUploadedFile("run.sh", b"echo"))
    assert "Invalid WebJob name" in response.content.decode()
    assert not WebJob.objects.exists()


def test_it_runs_a_job_from_the_list_and_shows_the_output(portal, api):
    api.deploy_fixture("hello", "hello.sh")
    job = WebJob.objects.get(name="hello")
    response = portal.post(
        reverse("admin:jobs_webjob_changelist"),
        {"action": "run_selected", "_selected_action": [job.pk]},
    )
    assert response.status_code == 302
    run = Run.objects.get(job=job)
    assert run.trigger == "External - deployer (portal)"
    api.wait(f"/api/triggeredwebjobs/hello/history/{run.run_id}")
    page = portal.get(
        reverse("admin:history_run_change", args=[run.pk])
    ).content.decode()
    assert "Success" in page
    assert "hello from hello run" in page
    download = f"/vfs/data/jobs/triggered/hello/{run.run_id}/output_log.txt?download=1"
    assert download in page
    response = portal.get(download)
    assert response.status_code == 200
    assert "attachment;" in response["Content-Disposition"]
    assert b"hello from hello run" in b"".join(response.streaming_content)


def test_it_hides_the_portal_from_non_staff(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("visitor", password="pw"))
    response = client.get(reverse("admin:jobs_webjob_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_it_replaces_the_package_from_the_change_page(portal, api):
    api.deploy(
        "job", make_zip({"run.sh": "echo one", "old.txt": "x"}), filename="a.zip"
    )
    job = WebJob.objects.get(name="job")
    response = portal.post(
        reverse("admin:jobs_webjob_change", args=[job.pk]),
        {
            "name": "job",
            "kind": "triggered",
            "package": SimpleUploadedFile("b.zip", make_zip({"run.py": "print(2)"})),
        },
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.run_command == "run.py"
    assert not (job.package_dir / "old.txt").exists()
