"""Every route of the emulator: the portal (Django admin with the dashboard),
Kudu's WebJobs API (jobs/urls.py), ARM Microsoft.Scheduler (scheduler/urls.py)
and the emulator's own API."""

from django.contrib import admin
from django.urls import include, path

from emulator.api import ClockView
from emulator.errors import not_found
from emulator.openapi.views import OpenApiView
from emulator.site import portal_install

portal_install(admin.site)  # the dashboard, before the URLs below are built

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/emulator/clock", ClockView.as_view(), name="emulator-clock"),
    path("api/openapi.json", OpenApiView.as_view(), name="openapi"),
    path("", include("jobs.urls")),
    path("", include("scheduler.urls")),
]

# A path no route matches, in its API family's shape (Kudu's text, ARM's JSON).
handler404 = not_found
