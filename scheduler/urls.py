from django.urls import path

from scheduler import arm, views

_RG = "subscriptions/<str:sub>/resourceGroups/<str:rg>/providers/Microsoft.Scheduler"
_JC = f"{_RG}/jobCollections/<str:jc>"

urlpatterns = [
    path(
        "subscriptions/<str:sub>/providers/Microsoft.Scheduler/jobCollections",
        arm.CollectionsBySubscription.as_view(),
    ),
    path(f"{_RG}/jobCollections", arm.CollectionsByGroup.as_view()),
    path(_JC, arm.CollectionDetail.as_view()),
    path(f"{_JC}/enable", arm.CollectionEnable.as_view()),
    path(f"{_JC}/disable", arm.CollectionDisable.as_view()),
    path(f"{_JC}/jobs", arm.JobList.as_view()),
    path(f"{_JC}/jobs/<str:job>", arm.JobDetail.as_view()),
    path(f"{_JC}/jobs/<str:job>/run", arm.JobRun.as_view()),
    path(f"{_JC}/jobs/<str:job>/history", arm.JobHistoryList.as_view()),
    path("api/emulator/clock", views.ClockView.as_view(), name="emulator-clock"),
]
