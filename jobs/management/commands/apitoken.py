"""manage.py apitoken create USER [--name N] | list | revoke ID"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from jobs.models import ApiToken
from jobs.tokens import token_create, token_revoke


class Command(BaseCommand):
    help = "Make, list and revoke bearer tokens for the APIs (Authorization: Bearer)."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Make a token for a user (shown once).")
        create.add_argument("username")
        create.add_argument("--name", default="")
        sub.add_parser("list", help="List tokens (prefixes only).")
        revoke = sub.add_parser("revoke", help="Revoke a token by its id.")
        revoke.add_argument("token_id", type=int)

    def handle(self, *args, action: str, **options) -> None:
        if action == "create":
            user = get_user_model().objects.filter(username=options["username"]).first()
            if user is None:
                raise CommandError(f"No user named {options['username']!r}.")
            self.stdout.write(token_create(user=user, name=options["name"]))
        elif action == "list":
            for row in ApiToken.objects.select_related("user").order_by("pk"):
                state = "revoked" if row.revoked_at else "active"
                self.stdout.write(
                    f"{row.pk:5} {row.prefix}…  {row.user}  {row.name}  {state}"
                )
        elif not token_revoke(token_id=options["token_id"]):
            raise CommandError(f"No active token with id {options['token_id']}.")
        else:
            self.stdout.write(f"Revoked token {options['token_id']}.")
