"""manage.py apitoken create USER [--name N] [--expires 30d] | list | revoke ID"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from jobs.models import ApiToken
from jobs.tokens import parse_lifetime, token_create, token_revoke


class Command(BaseCommand):
    help = (
        "Make, list and revoke bearer tokens for the APIs (Authorization: Bearer). "
        "A token acts with its user's permissions."
    )

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Make a token for a user (shown once).")
        create.add_argument("username")
        create.add_argument("--name", default="", help="what it is for")
        create.add_argument(
            "--expires",
            metavar="DURATION",
            help="lifetime: 90m, 12h, 30d or 8w (default: until revoked)",
        )
        sub.add_parser("list", help="List tokens (prefixes only) and their state.")
        revoke = sub.add_parser("revoke", help="Revoke a token by its id.")
        revoke.add_argument("token_id", type=int)

    def handle(self, *args, action: str, **options) -> None:
        getattr(self, f"do_{action}")(**options)

    def do_create(self, *, username: str, name: str, expires: str | None, **_):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        try:
            lifetime = parse_lifetime(expires) if expires else None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        token, _ = token_create(user=user, name=name, lifetime=lifetime)
        self.stdout.write(token)

    def do_list(self, **_) -> None:
        now = timezone.now()
        rows = ApiToken.objects.select_related("user").order_by("pk")
        self.stdout.write(f"{'ID':>5} {'PREFIX':14} {'USER':16} {'EXPIRES':21} STATE")
        for row in rows:
            expires = (
                row.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
                if row.expires_at
                else "never"
            )
            self.stdout.write(
                f"{row.pk:5} {row.prefix + '…':14} {row.user.get_username():16} "
                f"{expires:21} {row.state(now=now)}  {row.name}".rstrip()
            )

    def do_revoke(self, *, token_id: int, **_) -> None:
        if not token_revoke(token_id=token_id):
            raise CommandError(f"No active token with id {token_id}.")
        self.stdout.write(f"Revoked token {token_id}.")
