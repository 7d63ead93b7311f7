"""Who may do what on the APIs: Django's model permissions, as the portal uses them.

Every API view says which permissions each of its methods needs
(``permissions_required``: a method -> permission names map, or a
``required_permissions(request)`` method when it depends on the request, e.g. a
PUT that creates needs *add* and one that replaces needs *change*). A view that
says nothing about a method refuses it: forgetting a declaration closes a door
rather than opening one. Anonymous callers get 401; an authenticated user
without the permission gets 403, rendered in the body shape of the view's API
family (Kudu's plain text, ARM's ``AuthorizationFailed``) by the view. A method
the route does not have is 405 for a login, not 403.

The same names are what the admin checks (``has_<action>_permission``) and what
the roles of ``manage.py roles`` hand out, so one grant means the same on every
surface. ``manage.py`` commands run as the machine's operator, with full rights.
"""

from __future__ import annotations

from django.contrib.auth.models import Permission
from rest_framework import exceptions
from rest_framework.permissions import BasePermission

ERR_FORBIDDEN = (
    "The user {user!r} may not do this: it needs the permission {needed} "
    "(a Django permission; `manage.py roles grant` hands out the usual sets)."
)


class Forbidden(exceptions.PermissionDenied):
    """403 naming the user and the permissions that were missing."""

    def __init__(self, *, user, missing: list[str]) -> None:
        self.user_name = user.get_username()
        self.missing = missing
        super().__init__(
            ERR_FORBIDDEN.format(user=self.user_name, needed=permission_words(missing))
        )


def permission_words(names: list[str]) -> str:
    """``'Can run a WebJob' (jobs.run_webjob)`` for each name, joined."""
    shown = []
    for name in names:
        app_label, _, codename = name.partition(".")
        row = (
            Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            )
            .values_list("name", flat=True)
            .first()
        )
        shown.append(f"'{row}' ({name})" if row else name)
    return " and ".join(shown)


class ApiPermission(BasePermission):
    """The default permission class of every API view (config/settings.py)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False  # DRF answers 401 (the view has an authenticator)
        if request.method.lower() not in view.http_method_names or not hasattr(
            view, request.method.lower()
        ):
            # A method the route lacks: DRF's 405 (with Allow) says so, where
            # a 403 would say a permission is missing that nobody can have.
            return True
        needed = required_permissions(view, request)
        if needed is None:
            raise Forbidden(user=user, missing=["(none declared for this method)"])
        missing = [name for name in needed if not user.has_perm(name)]
        if missing:
            raise Forbidden(user=user, missing=missing)
        return True


def required_permissions(view, request) -> tuple[str, ...] | None:
    """What the view needs for this request; None when it declares nothing."""
    if request.method == "OPTIONS":
        return ()  # the route's own description (DRF's metadata): a login
    decide = getattr(view, "required_permissions", None)
    if decide is not None:
        return tuple(decide(request))
    table = getattr(view, "permissions_required", None) or {}
    method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
    needed = table.get(method)
    return None if needed is None else tuple(needed)
