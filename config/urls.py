from django.contrib import admin
from django.urls import include, path

from config.portal import portal_install

portal_install(admin.site)  # the dashboard, before the URLs below are built

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("jobs.urls")),
    path("", include("scheduler.urls")),
]
