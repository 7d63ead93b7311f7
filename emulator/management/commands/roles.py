"""manage.py roles grant USER ROLE | revoke USER ROLE | list | sync"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from emulator.roles import (
    ROLES,
    RoleError,
    role_grant,
    role_members,
    role_revoke,
    role_sync,
)


class Command(BaseCommand):
    help = (
        "Give colleagues the common roles of a shared instance as Django groups: "
        "reader (look), operator (run, start, stop, change), admin (everything "
        "but user management). See docs/behaviour.md for the permission table."
    )

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name, words in (("grant", "Give"), ("revoke", "Take back")):
            command = sub.add_parser(name, help=f"{words} a role.")
            command.add_argument("username")
            command.add_argument("role", choices=list(ROLES))
        sub.add_parser("list", help="Each role's members.")
        sub.add_parser("sync", help="Create the roles' groups, or reset them.")

    def handle(self, *args, action: str, **options) -> None:
        try:
            if action == "grant":
                role_grant(username=options["username"], role=options["role"])
                self.stdout.write(f"{options['username']} is now {options['role']}.")
            elif action == "revoke":
                role_revoke(username=options["username"], role=options["role"])
                self.stdout.write(
                    f"{options['username']} is no longer {options['role']}."
                )
            elif action == "sync":
                for role in ROLES:
                    group = role_sync(role)
                    count = group.permissions.count()
                    self.stdout.write(f"{role}: {count} permissions")
            else:
                for role, members in role_members().items():
                    self.stdout.write(f"{role}: {', '.join(members) or '-'}")
        except RoleError as exc:
            raise CommandError(str(exc)) from None
