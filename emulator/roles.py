"""The common roles of a shared instance, as Django groups: reader, operator,
admin. Each is a set of the same model permissions that every surface checks
(config/permissions.py, the admin), so one grant means the same on the portal,
Kudu's API, ARM and the emulator's own API.

- reader: sees WebJobs, their runs and logs, deployments, web hooks,
  scheduler collections, jobs and their history;
- operator: a reader who also runs WebJobs and scheduler jobs, starts and
  stops continuous jobs, changes settings and redeploys existing jobs
  (Kudu's *change*), enables and disables scheduler jobs and collections;
- admin: an operator who also adds and deletes WebJobs, collections and jobs,
  pushes app packages (zip deployment), subscribes and removes web hooks,
  moves the emulator clock and manages API tokens.

A role is not a superuser: it never grants user management.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

READER = (
    "jobs.view_webjob",
    "jobs.view_deployment",
    "jobs.view_webhook",
    "history.view_run",
    "scheduler.view_jobcollection",
    "scheduler.view_job",
    "scheduler.view_jobhistory",
)
OPERATOR = (
    *READER,
    "jobs.run_webjob",
    "jobs.change_webjob",
    "scheduler.run_job",
    "scheduler.change_job",
    "scheduler.change_jobcollection",
)
ADMIN = (
    *OPERATOR,
    "jobs.add_webjob",
    "jobs.delete_webjob",
    "jobs.add_deployment",
    "jobs.add_webhook",
    "jobs.delete_webhook",
    "scheduler.add_jobcollection",
    "scheduler.delete_jobcollection",
    "scheduler.add_job",
    "scheduler.delete_job",
    "config.move_emulatorclock",
    "jobs.view_apitoken",
    "jobs.change_apitoken",
)
ROLES: dict[str, tuple[str, ...]] = {
    "reader": READER,
    "operator": OPERATOR,
    "admin": ADMIN,
}
ERR_ROLE = "No role {role!r}; the roles are {roles}."
ERR_USER = "No user named {username!r}."


class RoleError(LookupError):
    pass


def role_sync(role: str) -> Group:
    """The role's group, with exactly the role's permissions."""
    names = _names(role)
    group, _ = Group.objects.get_or_create(name=role)
    group.permissions.set(_permissions(names))
    return group


def role_grant(*, username: str, role: str) -> None:
    """Put the user in the role's group; a role uses the portal, so staff."""
    with transaction.atomic():
        group = role_sync(role)
        user = _user(username)
        user.groups.add(group)
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])


def role_revoke(*, username: str, role: str) -> None:
    _names(role)
    user = _user(username)
    user.groups.remove(*Group.objects.filter(name=role))


def role_members() -> dict[str, list[str]]:
    """Each role's members, by user name."""
    found = {role: [] for role in ROLES}
    for group in Group.objects.filter(name__in=ROLES).prefetch_related("user_set"):
        found[group.name] = sorted(u.get_username() for u in group.user_set.all())
    return found


def _names(role: str) -> tuple[str, ...]:
    if role not in ROLES:
        raise RoleError(ERR_ROLE.format(role=role, roles=", ".join(ROLES)))
    return ROLES[role]


def _permissions(names: tuple[str, ...]) -> list[Permission]:
    wanted = {tuple(name.split(".", 1)) for name in names}
    rows = Permission.objects.select_related("content_type").filter(
        codename__in=[codename for _, codename in wanted]
    )
    found = [p for p in rows if (p.content_type.app_label, p.codename) in wanted]
    missing = wanted - {(p.content_type.app_label, p.codename) for p in found}
    if missing:  # a renamed permission must not silently shrink a role
        raise RoleError(f"Unknown permissions: {sorted(missing)}; run migrate first.")
    return found


def _user(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise RoleError(ERR_USER.format(username=username))
    return user
