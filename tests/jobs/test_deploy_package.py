"""`manage.py webjobs deploy-package` and what the portal shows of a job's origin."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from jobs.models import Deployment, WebJob
from tests.helpers import make_zip

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_deploys_a_package_from_the_command_line_and_the_portal_says_so(
    tmp_path, capsys, client, user, api
):
    api.deploy("solo", b"echo solo\n", filename="run.sh")
    package = tmp_path / "app.zip"
    package.write_bytes(
        make_zip(
            {
                "index.html": "hi",
                "App_Data/jobs/triggered/nightly/run.sh": "echo n\n",
                "App_Data/jobs/continuous/pump/run.sh": "sleep 60\n",
            }
        )
    )
    call_command("webjobs", "deploy-package", str(package))
    out = capsys.readouterr().out
    assert "Deploying WebJob 'nightly' (triggered, new)." in out
    deployment = Deployment.objects.get()
    assert f"Deployment {deployment.id} succeeded." in out
    assert WebJob.objects.get(name="pump").deployment_id == deployment.id

    client.force_login(user)
    page = client.get("/admin/jobs/webjob/").content.decode()
    assert "WebJobs of site webjobs-emulator" in page
    assert f"App package (deployment {deployment.id[:10]})" in page
    assert "Single upload" in page
    solo = WebJob.objects.get(name="solo")
    assert (
        "Single upload"
        in client.get(f"/admin/jobs/webjob/{solo.pk}/change/").content.decode()
    )

    bad = tmp_path / "bad.zip"
    bad.write_bytes(make_zip({"App_Data/jobs/triggered/x/readme.txt": "no script"}))
    with pytest.raises(CommandError, match="WebJob triggered/x in the package"):
        call_command("webjobs", "deploy-package", str(bad))
    assert WebJob.objects.filter(name="nightly").exists()  # nothing changed
