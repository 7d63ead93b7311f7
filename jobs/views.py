"""Plain pages outside the APIs: where Kudu's `extra_info_url` lands.

Kudu's `extra_info_url` is `{base}/azurejobs/#/jobs/{type}/{name}`, the WebJobs
SDK dashboard, which Kudu itself does not serve. The emulator keeps the URL
and serves it: the fragment never reaches a server, so `/azurejobs/` is a
small page that reads it and moves on to `/azurejobs/jobs/{type}/{name}`,
which redirects to the job's page in the portal (which asks for a login).
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_safe

from jobs.models import WebJob

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>WebJobs</title></head>
<body><p>Opening the WebJob's page in the portal&hellip;
<a id="to" href="{portal}">the WebJobs list</a></p>
<script>
var m = /^#\\/jobs\\/(triggered|continuous)\\/([A-Za-z0-9_-]+)$/.exec(location.hash);
location.replace(m ? "{jobs}" + m[1] + "/" + m[2] : "{portal}");
</script></body></html>
"""


@require_safe
def dashboard(request) -> HttpResponse:
    page = _PAGE.format(
        portal=reverse("admin:jobs_webjob_changelist"),
        jobs=reverse("azurejobs-dashboard") + "jobs/",
    )
    return HttpResponse(page, content_type="text/html; charset=utf-8")


@require_safe
def job_page(request, kind: str, name: str):
    job = WebJob.objects.filter(kind=kind, name=name).first()
    if job is None:
        raise Http404(f"No {kind} WebJob named {name!r}.")
    return redirect(reverse("admin:jobs_webjob_change", args=[job.pk]))
