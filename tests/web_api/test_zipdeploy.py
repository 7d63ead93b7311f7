"""Zip deployment of an app package with WebJobs in App_Data/jobs, as Visual
Studio publish and `az webapp deploy` push it, over HTTP; Kudu's deployment
records."""

from __future__ import annotations

import json

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission, User

from jobs import hooks
from jobs.models import Deployment, WebJob
from tests.web_api.conftest import Kudu, wait_for, zip_of

pytestmark = pytest.mark.django_db(transaction=True)

LOOP = 'while [ ! -f "$WEBJOBS_SHUTDOWN_FILE" ]; do echo tick; sleep 0.2; done\n'


def app_package(*, beta: bool = True, version: str = "1", extra=None) -> bytes:
    files = {
        "index.html": f"<h1>version {version}</h1>",
        f"only-in-{version}.txt": "from this package only",
        "App_Data/jobs/triggered/alpha/run.sh": f'echo "alpha v{version}"\n',
        "App_Data/jobs/continuous/worker/run.sh": LOOP,
        # Kudu ignores a schedule on a continuous job; so does the emulator.
        "App_Data/jobs/continuous/worker/settings.job": json.dumps(
            {"schedule": "0 0 * * * *"}
        ),
    }
    if beta:
        files["App_Data/jobs/triggered/beta/run.sh"] = 'echo "beta says hi"\n'
        files["App_Data/jobs/triggered/beta/settings.job"] = json.dumps(
            {"stopping_wait_time": 3}
        )
    files.update(extra or {})
    return zip_of(files)


def wwwroot():
    return django_settings.WEBJOBS_ROOT / "site" / "wwwroot"


def names(kudu: Kudu) -> set[tuple[str, str]]:
    return {(j["type"], j["name"]) for j in kudu.get("/api/webjobs").json()}


def test_it_deploys_a_package_runs_its_jobs_and_removes_what_the_next_lacks(
    kudu, start_host
):
    kudu.deploy("triggered", "solo", 'echo "deployed on its own"\n')
    assert kudu.zipdeploy(app_package()).status_code == 200

    assert names(kudu) == {
        ("triggered", "alpha"),
        ("triggered", "beta"),
        ("triggered", "solo"),
        ("continuous", "worker"),
    }
    latest = kudu.get("/api/deployments/latest").json()
    assert (latest["status"], latest["complete"], latest["active"]) == (4, True, True)
    assert latest["provisioningState"] == "Succeeded"
    assert latest["deployer"] == "ZipDeploy"
    assert latest["site_name"] == django_settings.WEBSITE_SITE_NAME
    log = [
        e["message"] for e in kudu.get(f"/api/deployments/{latest['id']}/log").json()
    ]
    assert "Deploying WebJob 'beta' (triggered, new)." in log
    assert log[-1] == "Deployment successful."
    assert (wwwroot() / "index.html").read_text() == "<h1>version 1</h1>"
    assert not (wwwroot() / "App_Data" / "jobs" / "triggered" / "alpha").exists()

    assert "alpha v1" in kudu.get(kudu.run_and_wait("alpha")["output_url"]).text
    assert "beta says hi" in kudu.get(kudu.run_and_wait("beta")["output_url"]).text
    start_host("zip001")
    wait_for(
        lambda: kudu.get("/api/continuouswebjobs/worker").json()["status"] == "Running",
        "the package's continuous job to run",
    )
    job_log = kudu.get("/vfs/data/jobs/continuous/worker/job_log.txt").text
    assert "settings.job has a schedule ('0 0 * * * *'); it is ignored" in job_log
    sources = dict(WebJob.objects.values_list("name", "source"))
    assert sources == {
        "alpha": "package",
        "beta": "package",
        "worker": "package",
        "solo": "upload",
    }

    # A file pushed over the content by /api/zip stays across zipdeploys.
    response = kudu.call(
        "PUT", "/api/zip/site/wwwroot/", data=zip_of({"uploaded.txt": "kept"})
    )
    assert response.status_code == 200, response.text

    response = kudu.zipdeploy(
        app_package(beta=False, version="2"), params={"isAsync": "true"}
    )
    assert response.status_code == 202, response.text
    assert (
        "/api/deployments/latest?deployer=ZipDeploy&time="
        in response.headers["Location"]
    )
    assert response.headers["Retry-After"] == "30"
    second = kudu.get(response.headers["Location"].replace(kudu.base, "")).json()
    assert (second["status"], second["active"]) == (4, True)
    assert names(kudu) == {
        ("triggered", "alpha"),
        ("triggered", "solo"),
        ("continuous", "worker"),
    }
    assert kudu.get("/api/triggeredwebjobs/beta").status_code == 404
    assert len(kudu.get("/api/triggeredwebjobs/alpha/history").json()["runs"]) == 1
    assert "alpha v2" in kudu.get(kudu.run_and_wait("alpha")["output_url"]).text
    assert (wwwroot() / "index.html").read_text() == "<h1>version 2</h1>"
    assert not (wwwroot() / "only-in-1.txt").exists()  # the previous package's
    assert (wwwroot() / "uploaded.txt").read_text() == "kept"

    deployments = kudu.get("/api/deployments").json()
    assert [d["id"] for d in deployments] == [second["id"], latest["id"]]
    assert [d["active"] for d in deployments] == [True, False]


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (
            {"App_Data/jobs/triggered/gamma/readme.txt": "no script"},
            "WebJob triggered/gamma in the package: No runnable script file was found.",
        ),
        (
            {
                "App_Data/jobs/triggered/delta/run.sh": "x",
                "App_Data/jobs/triggered/delta/settings.job": '{"schedule": "nope"}',
            },
            "WebJob triggered/delta in the package: settings.job schedule is invalid",
        ),
        ({"../escape.txt": "x"}, "is not allowed"),
        ({"App_Data/jobs/triggered/bad name/run.sh": "x"}, "Invalid WebJob name"),
    ],
    ids=["no script", "bad schedule", "traversal", "bad name"],
)
def test_it_refuses_a_bad_package_and_changes_nothing(kudu, broken, message):
    assert kudu.zipdeploy(app_package()).status_code == 200
    before = sorted(WebJob.objects.values_list("name", "revision", "run_command"))

    response = kudu.zipdeploy(app_package(beta=False, version="2", extra=broken))
    assert response.status_code == 400
    assert message in response.text

    assert (
        sorted(WebJob.objects.values_list("name", "revision", "run_command")) == before
    )
    alpha = WebJob.objects.get(name="alpha").package_dir / "run.sh"
    assert alpha.read_text() == 'echo "alpha v1"\n'
    assert (wwwroot() / "index.html").read_text() == "<h1>version 1</h1>"
    latest = kudu.get("/api/deployments/latest").json()
    assert latest["status"] == 3 and latest["provisioningState"] == "Failed"
    assert message in latest["status_text"]
    assert latest["active"] is False
    assert not list((django_settings.WEBJOBS_ROOT / "site").glob(".deploy-*"))


def test_it_restores_every_job_and_the_content_when_a_swap_fails_midway(kudu):
    assert kudu.zipdeploy(app_package()).status_code == 200
    before = sorted(WebJob.objects.values_list("name", "revision", "source"))

    def fail_on_worker(job):
        if job.name == "worker":  # alpha and beta are in place by now
            raise RuntimeError("disk full (simulated)")

    hooks.webjob_deployed_hooks.append(fail_on_worker)
    try:
        response = kudu.zipdeploy(app_package(version="2"))
    finally:
        hooks.webjob_deployed_hooks.remove(fail_on_worker)
    assert response.status_code == 500

    assert sorted(WebJob.objects.values_list("name", "revision", "source")) == before
    for name, version in (("alpha", 'echo "alpha v1"\n'), ("beta", None)):
        package = WebJob.objects.get(name=name).package_dir
        assert (package / "run.sh").is_file()
        if version:
            assert (package / "run.sh").read_text() == version
    assert (wwwroot() / "index.html").read_text() == "<h1>version 1</h1>"
    site = django_settings.WEBJOBS_ROOT / "site"
    assert not list(site.rglob(".old-*")) and not list(site.glob(".deploy-*"))
    assert kudu.get("/api/deployments/latest").json()["status"] == 3


def test_it_asks_for_the_permissions_of_what_a_package_does(kudu, live_server):
    assert kudu.zipdeploy(app_package()).status_code == 200
    limited = User.objects.create_user("pusher", password="pusher-pass")
    limited.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["add_deployment", "add_webjob", "view_deployment"]
        )
    )
    pusher = Kudu(live_server.url, auth=("pusher", "pusher-pass"))
    count = Deployment.objects.count()

    response = pusher.zipdeploy(app_package(beta=False, version="2"))
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("text/plain")
    assert (
        "jobs.change_webjob" in response.text and "jobs.delete_webjob" in response.text
    )
    assert Deployment.objects.count() == count  # refused before it began
    assert WebJob.objects.filter(name="beta").exists()

    nobody = User.objects.create_user("nobody", password="nobody-pass")
    assert nobody.pk
    response = Kudu(live_server.url, auth=("nobody", "nobody-pass")).zipdeploy(
        app_package()
    )
    assert response.status_code == 403 and "jobs.add_deployment" in response.text
    response = Kudu(live_server.url, auth=("nobody", "nobody-pass")).get(
        "/api/deployments"
    )
    assert response.status_code == 403 and "jobs.view_deployment" in response.text


def test_it_answers_409_and_202_while_a_deployment_is_in_progress(kudu):
    from django.utils import timezone

    Deployment.objects.create(
        id="f" * 32, received_time=timezone.now(), status=1, in_progress=True
    )
    response = kudu.zipdeploy(app_package())
    assert response.status_code == 409
    assert response.text.startswith("There is a deployment currently in progress.")
    latest = kudu.get("/api/deployments/latest")
    assert latest.status_code == 202
    assert latest.json()["provisioningState"] == "InProgress"
    assert latest.headers["Retry-After"] == "30"
    assert kudu.get("/api/deployments/nope").json() == {
        "Message": "Deployment 'nope' not found."
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"deployer": "d" * 101}, "deployer is 101 characters; the limit is 100."),
        ({"author": "a" * 301}, "author is 301 characters; the limit is 300."),
        (
            {"message": "a\x00b"},
            "message contains a NUL character (\\u0000), which cannot be stored.",
        ),
    ],
    ids=["deployer", "author", "message"],
)
def test_it_refuses_a_record_its_columns_cannot_hold_naming_the_field(
    kudu, params, message
):
    response = kudu.zipdeploy(app_package(), params=params)
    assert response.status_code == 400
    assert response.text == message
    assert kudu.get("/api/deployments").json() == []
    assert names(kudu) == set()
