from django.urls import path

from jobs import api

# Kudu's routes, plus its deprecated aliases (api/triggeredjobs, jobs/triggered,
# api/jobs/triggered) that older clients still call.
_TRIGGERED_PREFIXES = (
    "api/triggeredwebjobs",
    "api/triggeredjobs",
    "jobs/triggered",
    "api/jobs/triggered",
)
_CONTINUOUS_PREFIXES = (
    "api/continuouswebjobs",
    "api/continuousjobs",
    "jobs/continuous",
    "api/jobs/continuous",
)

urlpatterns = [
    path("api/webjobs", api.WebJobList.as_view(), name="webjobs"),
    path("api/jobs", api.WebJobList.as_view()),
    path("jobs", api.WebJobList.as_view()),
    path(
        "vfs/data/jobs/<str:kind>/<str:name>/<str:run_id>/output_log.txt",
        api.OutputLog.as_view(),
        name="output-log",
    ),
    path(
        "vfs/data/jobs/continuous/<str:name>/<str:filename>",
        api.ContinuousLog.as_view(),
        name="continuous-log",
    ),
]
for prefix in _TRIGGERED_PREFIXES:
    urlpatterns += [
        path(prefix, api.TriggeredList.as_view()),
        path(f"{prefix}/<str:name>", api.TriggeredDetail.as_view()),
        path(f"{prefix}/<str:name>/run", api.TriggeredRun.as_view()),
        path(f"{prefix}/<str:name>/history", api.TriggeredHistory.as_view()),
        path(
            f"{prefix}/<str:name>/history/<str:run_id>",
            api.TriggeredRunDetail.as_view(),
        ),
        path(f"{prefix}/<str:name>/settings", api.JobSettingsView.as_view()),
    ]
for prefix in _CONTINUOUS_PREFIXES:
    urlpatterns += [
        path(prefix, api.ContinuousList.as_view()),
        path(f"{prefix}/<str:name>", api.ContinuousDetail.as_view()),
        path(f"{prefix}/<str:name>/start", api.ContinuousStart.as_view()),
        path(f"{prefix}/<str:name>/stop", api.ContinuousStop.as_view()),
        path(
            f"{prefix}/<str:name>/settings",
            api.JobSettingsView.as_view(kind=api.CONTINUOUS),
        ),
    ]
