"""What the portal's pages share: presentation helpers over plain values.

A status in its colour, the tool buttons of an object's page, a schedule in
words, and POST-only object actions. They know no app: each app's admin calls
them with its own values (the site itself is put together in emulator/site.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.admin import ModelAdmin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html


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


def schedule_html(words: str, zone: str, note: str) -> str:
    """A schedule in words with its time zone, and a note under it (the CRON
    expression itself, or Kudu's expanded form)."""
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
