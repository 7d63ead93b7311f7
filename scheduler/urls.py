from django.urls import path, re_path

from scheduler import arm, views

# ARM paths are case-insensitive ("resourcegroups" is sent by some tools).
_SUB = r"(?i)^subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Scheduler"
_JC = _RG + r"/jobCollections/(?P<jc>[^/]+)"
_JOB = _JC + r"/jobs/(?P<job>[^/]+)"

urlpatterns = [
    re_path(
        _SUB + r"/providers/Microsoft\.Scheduler/jobCollections$",
        arm.CollectionsBySubscription.as_view(),
    ),
    re_path(_RG + r"/jobCollections$", arm.CollectionsByGroup.as_view()),
    re_path(_JC + "$", arm.CollectionDetail.as_view()),
    re_path(_JC + "/enable$", arm.CollectionEnable.as_view()),
    re_path(_JC + "/disable$", arm.CollectionDisable.as_view()),
    re_path(_JC + "/jobs$", arm.JobList.as_view()),
    re_path(_JOB + "$", arm.JobDetail.as_view()),
    re_path(_JOB + "/run$", arm.JobRun.as_view()),
    re_path(_JOB + "/history$", arm.JobHistoryList.as_view()),
    re_path(r"^subscriptions/", arm.ArmNotFound.as_view()),
    path("api/emulator/clock", views.ClockView.as_view(), name="emulator-clock"),
]
