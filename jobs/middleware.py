"""Request middleware of the jobs app."""

from __future__ import annotations

import logging

from django.conf import settings

from jobs.alwayson import activity_note

log = logging.getLogger("jobs.alwayson")


class InstanceActivityMiddleware:
    """Every request keeps this instance awake (Always On emulation, jobs/alwayson.py).
    Nothing is written while WEBSITE_ALWAYS_ON is on (the default)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if not settings.WEBSITE_ALWAYS_ON:
            try:
                activity_note(settings.WEBSITE_INSTANCE_ID)
            except Exception:  # the database is away: never fail the request
                log.exception("could not record this instance's activity")
        return self.get_response(request)
