from django.urls import path

from config.arm import arm_path
from jobs import api, arm, site_api, views

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
    # Where extra_info_url lands (jobs/views.py).
    path("azurejobs/", views.dashboard, name="azurejobs-dashboard"),
    path("azurejobs/jobs/<str:kind>/<str:name>", views.job_page),
]
# Zip deployment, deployment records and web hooks (jobs/site_api.py); Kudu
# maps each with and without the api/ prefix.
for api_prefix in ("api/", ""):
    urlpatterns += [
        path(f"{api_prefix}zipdeploy", site_api.ZipDeploy.as_view()),
        path(f"{api_prefix}zip/<path:path>", site_api.ZipPut.as_view()),
        path(f"{api_prefix}deployments", site_api.DeploymentList.as_view()),
        path(
            f"{api_prefix}deployments/<str:deployment_id>",
            site_api.DeploymentDetail.as_view(),
        ),
        path(
            f"{api_prefix}deployments/<str:deployment_id>/log",
            site_api.DeploymentLog.as_view(),
        ),
        path(
            f"{api_prefix}deployments/<str:deployment_id>/log/<str:entry_id>",
            site_api.DeploymentLogEntry.as_view(),
        ),
        path(f"{api_prefix}hooks", site_api.HookList.as_view()),
        path(f"{api_prefix}hooks/<str:hook_id>", site_api.HookDetail.as_view()),
    ]
# Kudu serves every vfs/ route under api/vfs/ too.
for vfs in ("vfs", "api/vfs"):
    alias = "" if vfs == "vfs" else "api-"
    urlpatterns += [
        path(
            f"{vfs}/data/jobs/<str:kind>/<str:name>/<str:run_id>/output_log.txt",
            api.OutputLog.as_view(),
            name=f"{alias}output-log",
        ),
        path(
            f"{vfs}/data/jobs/continuous/<str:name>/<str:filename>",
            api.ContinuousLog.as_view(),
            name=f"{alias}continuous-log",
        ),
        path(
            f"{vfs}/data/jobs/triggered/<str:name>/<str:filename>",
            api.SchedulerLog.as_view(),
            name=f"{alias}scheduler-log",
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

# ARM Microsoft.Web: the WebJobs of the one site (jobs/arm.py), before the
# Scheduler's catch-all for /subscriptions/ (emulator/urls.py includes us first).
_SITE = (
    r"^subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Web/sites/(?P<site>[^/]+)"
)
_NAME = r"(?P<name>[^/]+)"
urlpatterns += [
    arm_path(_SITE + r"/webjobs$", arm.WebJobs.as_view()),
    arm_path(_SITE + rf"/webjobs/{_NAME}$", arm.WebJobDetail.as_view()),
    arm_path(_SITE + r"/triggeredwebjobs$", arm.TriggeredJobs.as_view()),
    arm_path(_SITE + rf"/triggeredwebjobs/{_NAME}$", arm.TriggeredJobDetail.as_view()),
    arm_path(_SITE + rf"/triggeredwebjobs/{_NAME}/run$", arm.TriggeredJobRun.as_view()),
    arm_path(
        _SITE + rf"/triggeredwebjobs/{_NAME}/history$",
        arm.TriggeredJobHistory.as_view(),
    ),
    arm_path(
        _SITE + rf"/triggeredwebjobs/{_NAME}/history/(?P<run_id>[^/]+)$",
        arm.TriggeredJobHistoryDetail.as_view(),
    ),
    arm_path(_SITE + r"/continuouswebjobs$", arm.ContinuousJobs.as_view()),
    arm_path(
        _SITE + rf"/continuouswebjobs/{_NAME}$", arm.ContinuousJobDetail.as_view()
    ),
    arm_path(
        _SITE + rf"/continuouswebjobs/{_NAME}/start$", arm.ContinuousJobStart.as_view()
    ),
    arm_path(
        _SITE + rf"/continuouswebjobs/{_NAME}/stop$", arm.ContinuousJobStop.as_view()
    ),
    arm_path(
        r"^subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
        r"/providers/Microsoft\.Web/(?P<rest>.*)$",
        arm.WebNotFound.as_view(),
    ),
]
