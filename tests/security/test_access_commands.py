"""Handing out access: roles as groups, tokens that expire or are revoked."""

from __future__ import annotations

import base64
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from jobs.models import ApiToken

pytestmark = pytest.mark.django_db


def command(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_it_grants_and_revokes_the_common_roles(client, django_user_model):
    colleague = django_user_model.objects.create_user("ana", password="pw")
    assert command("roles", "grant", "ana", "reader") == "ana is now reader.\n"
    colleague.refresh_from_db()
    assert colleague.is_staff  # a role uses the portal
    assert colleague.has_perm("jobs.view_webjob")
    assert not colleague.has_perm("jobs.run_webjob")
    basic = base64.b64encode(b"ana:pw").decode()
    headers = {"HTTP_AUTHORIZATION": f"Basic {basic}"}
    assert client.get("/api/triggeredwebjobs", **headers).status_code == 200
    assert client.post("/api/triggeredwebjobs/x/run", **headers).status_code == 403
    command("roles", "grant", "ana", "operator")
    colleague = django_user_model.objects.get(pk=colleague.pk)  # fresh perm cache
    assert colleague.has_perm("jobs.run_webjob") and colleague.has_perm(
        "scheduler.run_job"
    )
    assert not colleague.has_perm("jobs.add_webjob")
    assert "operator: ana" in command("roles", "list")
    command("roles", "revoke", "ana", "operator")
    command("roles", "revoke", "ana", "reader")
    colleague = django_user_model.objects.get(pk=colleague.pk)
    assert not colleague.has_perm("jobs.view_webjob")
    with pytest.raises(CommandError, match="No user named 'bob'"):
        command("roles", "grant", "bob", "reader")


def test_it_refuses_an_expired_or_revoked_token_with_401(client, user):
    out = command("apitoken", "create", "deployer", "--expires", "30d", "--name", "ci")
    token = out.strip()
    row = ApiToken.objects.get()
    assert (
        timedelta(days=29, hours=23)
        < row.expires_at - timezone.now()
        <= timedelta(days=30)
    )
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/triggeredwebjobs", **bearer).status_code == 200
    listing = command("apitoken", "list")
    assert row.prefix in listing and "active" in listing and "ci" in listing
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now())
    response = client.get("/api/triggeredwebjobs", **bearer)
    assert response.status_code == 401
    assert b"expired at" in response.content
    assert "expired" in command("apitoken", "list")
    ApiToken.objects.filter(pk=row.pk).update(expires_at=None)
    command("apitoken", "revoke", str(row.pk))
    response = client.get("/api/triggeredwebjobs", **bearer)
    assert response.status_code == 401 and b"revoked" in response.content
    with pytest.raises(CommandError, match="not a duration"):
        command("apitoken", "create", "deployer", "--expires", "forever")
    with pytest.raises(CommandError, match="not a duration"):
        command("apitoken", "create", "deployer", "--expires", "99999w")


def test_it_lists_and_revokes_tokens_in_the_portal(client, user):
    token = command("apitoken", "create", "deployer").strip()
    row = ApiToken.objects.get()
    client.force_login(user)
    changelist = reverse("admin:jobs_apitoken_changelist")
    page = client.get(changelist).content.decode()
    assert f"{row.prefix}…" in page and "Active" in page
    assert token not in page  # shown once, at creation, never again
    client.post(changelist, {"action": "revoke_selected", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.revoked_at is not None
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/triggeredwebjobs", **bearer).status_code == 401
