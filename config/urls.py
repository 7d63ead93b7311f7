from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "WebJobs & Scheduler emulator"
admin.site.site_title = "WebJobs emulator"
admin.site.index_title = "Portal"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("jobs.urls")),
    path("", include("scheduler.urls")),
]
