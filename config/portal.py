"""The portal's own pages on the default admin site, and what its pages share.

The admin stays Django's default site, where every app registers its models;
``portal_install`` adds the history dashboard by wrapping that site's
``get_urls`` hook, which needs neither an AdminSite subclass nor a setting to
swap it in. The base template (config/templates/admin/base_site.html) adds the
one stylesheet, portal/portal.css, to every admin page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.admin import AdminSite, ModelAdmin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html

SITE_HEADER = "WebJobs & Scheduler emulator"


def portal_install(site: AdminSite) -> None:
    """Name the site and add the dashboard (``admin:dashboard``) to its URLs."""
    from history.views import dashboard

    site.site_header = SITE_HEADER
    site.site_title = "WebJobs emulator"
    site.index_title = "Portal"
    site.index_template = "portal/index.html"
    default_urls = site.get_urls

    def get_urls():
        return [
            path(
                "dashboard/",
                site.admin_view(dashboard),
                {"site": site},
                name="dashboard",
            ),
            *default_urls(),
        ]

    site.get_urls = get_urls


def status_pill(status: str) -> str:
    """A status in its colour (portal.css: Success green, Failed red, Running
    blue, Aborted orange); ``data-status`` lets the live view recolour it."""
    return format_html(
        '<span class="status-pill status-{}" data-status="{}">{}</span>',
        status.lower() or "none",
        status,
        status or "-",
    )


@dataclass(frozen=True)
class Tool:
    """A button beside an object's History link (``portal/change_form.html``):
    a POST form when ``post``, else a plain link."""

    label: str
    url: str
    post: bool = True


def schedule_html(cron: str, zone: str, note: str) -> str:
    """A CRON schedule in words with its time zone, and a note under it (the
    expression itself, or Kudu's expanded form); words fall back to the text."""
    from scheduler.ncrontab import CronError, cron_words

    try:
        words = cron_words(cron)
    except CronError:
        words = cron
    return format_html(
        '{} ({})<br><span class="portal-note">{}</span>', words, zone or "UTC", note
    )


def object_action(
    model_admin: ModelAdmin,
    request: HttpRequest,
    object_id: str,
    perform: Callable[[Any], None],
    *,
    permission: str = "change",
    redirect_to: str | None = None,
) -> HttpResponse:
    """A POST-only admin view acting on one object (Start, Stop, Enable…).

    The object must exist and the user needs the permission on it
    (``has_<permission>_permission``, as admin actions name theirs); ``perform``
    does the work through a service and reports with ``message_user``. Then
    back to the object's page, or to ``redirect_to``.
    """
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    obj = model_admin.get_object(request, unquote(object_id))
    if obj is None:
        raise Http404(f"No {model_admin.opts.verbose_name} with id {object_id!r}.")
    if not getattr(model_admin, f"has_{permission}_permission")(request, obj):
        raise PermissionDenied
    perform(obj)
    opts = model_admin.opts
    return redirect(
        redirect_to
        or reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    )
