"""Template helpers of the portal's pages: ``{% load portal %}``."""

from __future__ import annotations

from django import template

from config.portal import status_pill as _status_pill
from core.charts import duration_text

register = template.Library()


@register.simple_tag
def status_pill(status: str) -> str:
    return _status_pill(status)


@register.filter
def seconds_text(seconds: float | None) -> str:
    return "-" if seconds is None else duration_text(seconds)
