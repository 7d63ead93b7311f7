"""StorageQueue jobs from `manage.py schedule` and from the portal's job form:
the same action as over ARM, the SAS token taken but never shown."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from scheduler.models import Job
from scheduler.secrets import action_open
from tests.azurite import envelope, sas_token
from tests.portal.test_scheduler_form import ADD, errors, form_data

pytestmark = pytest.mark.django_db(transaction=True)

START = ["--start-time", "2031-03-01T00:00:00Z"]


def schedule(*args: str) -> str:
    out = StringIO()
    call_command("schedule", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_schedule_creates_a_queue_job_and_runs_it_into_the_queue(
    azurite, collection, queue_name
):
    azurite.create_queue(queue_name)
    sas = sas_token(queue_name)
    poison = f"{queue_name}-poison"
    schedule(
        "create",
        "sub/rg/nightly-jobs/rebuild",
        *START,
        "--queue",
        f"devstoreaccount1/{queue_name}",
        "--message",
        "rebuild the index",
        "--sas-token",
        sas,
        "--error-queue",
        f"devstoreaccount1/{poison}",
        "--error-sas-token",
        sas_token(poison),
    )
    stored = Job.objects.get(name="rebuild").action
    assert sas not in str(stored)  # sealed at rest (scheduler/secrets.py)
    action = action_open(stored)
    assert action["type"] == "StorageQueue"
    assert action["queueMessage"] == {
        "storageAccount": "devstoreaccount1",
        "queueName": queue_name,
        "sasToken": sas,
        "message": "rebuild the index",
    }
    error = action["errorAction"]["queueMessage"]
    assert (error["queueName"], error["message"]) == (poison, "rebuild the index")

    shown = schedule("show", "sub/rg/nightly-jobs/rebuild")
    assert queue_name in shown and "sig=" not in shown and "sasToken" not in shown

    ran = schedule("run", "sub/rg/nightly-jobs/rebuild")  # the queue runs inline
    assert "Completed: StorageQueue Action - Message " in ran
    [body] = [envelope(m) for m in azurite.messages(queue_name)]
    assert (body["SchedulerJobId"], body["Message"]) == ("rebuild", "rebuild the index")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--queue", "devstoreaccount1/orders", "--message", "hi"],
            "--sas-token is required with --queue (a shared access signature",
        ),
        (
            ["--queue", "devstoreaccount1/orders", "--sas-token", "sig=x"],
            "--message is required with --queue",
        ),
        (
            ["--queue", "MyAccount/orders", "--message", "hi", "--sas-token", "sig=x"],
            "properties.action.queueMessage.storageAccount 'MyAccount' is not a "
            "storage account name",
        ),
        (
            ["--queue", "orders", "--message", "hi"],
            "'orders' is not a queue address; use ACCOUNT/QUEUE",
        ),
        (
            ["--action-url", "http://127.0.0.1:9/x", "--message", "hi"],
            "--message: only with --queue (or --error-queue, for the error action).",
        ),
        (
            ["--action-url", "http://127.0.0.1:9/x", "--error-queue", "acct01/dead"],
            "--error-message is required with --error-queue",
        ),
    ],
)
def test_schedule_says_what_is_wrong_with_queue_flags(collection, flags, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        schedule("create", "sub/rg/nightly-jobs/bad", *START, *flags)
    assert not Job.objects.filter(name="bad").exists()


def queue_form(collection, **overrides) -> dict:
    queue = {
        "action_type": "queue",
        "url": "",
        "queue_account": "devstoreaccount1",
        "queue_name": "orders",
        "queue_sas_token": sas_token("orders"),
        "queue_message": "from the portal",
    }
    return form_data(collection, **{**queue, **overrides})


def test_the_portal_creates_a_queue_job_and_keeps_its_token_unseen(
    client, user, collection
):
    client.force_login(user)
    response = client.post(ADD, queue_form(collection))
    assert response.status_code == 302, errors(response)
    job = Job.objects.get(name="weekly")
    token = action_open(job.action)["queueMessage"]["sasToken"]
    assert job.action["queueMessage"]["message"] == "from the portal"
    change = reverse("admin:scheduler_job_change", args=[job.pk])
    page = client.get(change).content.decode()
    assert 'value="orders"' in page and "from the portal" in page
    assert token not in page and "sig=" not in page

    edited = queue_form(collection, queue_sas_token="", queue_message="edited")
    edited.pop("collection"), edited.pop("name")
    assert client.post(change, edited).status_code == 302
    job.refresh_from_db()
    assert job.action["queueMessage"]["message"] == "edited"
    kept = action_open(job.action)["queueMessage"]["sasToken"]
    assert kept == token  # an empty field kept it


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"queue_name": "Orders"}, "queue_name", "is not a queue name"),
        ({"queue_account": ""}, "queue_account", "storageAccount is required"),
        ({"queue_sas_token": ""}, "queue_sas_token", "sasToken is required"),
    ],
)
def test_the_portal_shows_a_queue_error_on_its_field(
    client, user, collection, overrides, field, words
):
    client.force_login(user)
    shown = errors(client.post(ADD, queue_form(collection, **overrides)))
    assert list(shown) == [field]
    assert words in shown[field][0]
    assert not Job.objects.exists()
