import re
from functools import partial

from django.urls import re_path
from django.urls.resolvers import RegexPattern
from django.utils.functional import cached_property

from scheduler import arm


class IgnoreCaseRegexPattern(RegexPattern):
    """ARM paths are case-insensitive ("resourcegroups" is sent by some tools).

    An inline (?i) flag would make every reverse() in the project fail, so the
    flag is set on the compiled pattern instead.
    """

    @cached_property
    def regex(self):
        return re.compile(self._regex, re.IGNORECASE)


arm_path = partial(re_path, Pattern=IgnoreCaseRegexPattern)

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
