from config.arm import arm_path
from scheduler import arm

_SUB = r"^subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Scheduler"
_JC = _RG + r"/jobCollections/(?P<jc>[^/]+)"
_JOB = _JC + r"/jobs/(?P<job>[^/]+)"

urlpatterns = [
    arm_path(
        _SUB + r"/providers/Microsoft\.Scheduler/jobCollections$",
        arm.CollectionsBySubscription.as_view(),
    ),
    arm_path(_RG + r"/jobCollections$", arm.CollectionsByGroup.as_view()),
    arm_path(_JC + "$", arm.CollectionDetail.as_view()),
    arm_path(_JC + "/enable$", arm.CollectionEnable.as_view()),
    arm_path(_JC + "/disable$", arm.CollectionDisable.as_view()),
    arm_path(_JC + "/jobs$", arm.JobList.as_view()),
    arm_path(_JOB + "$", arm.JobDetail.as_view()),
    arm_path(_JOB + "/run$", arm.JobRun.as_view()),
    arm_path(_JOB + "/history$", arm.JobHistoryList.as_view()),
    arm_path(r"^subscriptions/", arm.ArmNotFound.as_view()),
]
