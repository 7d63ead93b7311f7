"""Create or update the portal's admin user, following Django's convention.

With DJANGO_SUPERUSER_USERNAME and DJANGO_SUPERUSER_PASSWORD set, that user is
created or its password updated. Without them, a user `admin` gets a generated
password, printed once and kept in WEBJOBS_ROOT/admin-password (mode 0600).
Never a fixed, well-known password.
"""

from __future__ import annotations

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create (or update) the admin user of the portal and the APIs."

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if username and password:
            user, created = User.objects.get_or_create(username=username)
            user.is_staff = user.is_superuser = user.is_active = True
            user.set_password(password)
            user.save()
            verb = "Created" if created else "Updated"
            self.stdout.write(
                f"{verb} admin user {username!r} from DJANGO_SUPERUSER_*."
            )
            return
        path = settings.WEBJOBS_ROOT / "admin-password"
        user = User.objects.filter(username="admin").first()
        if user is not None and path.exists():
            self.stdout.write(f"Admin user 'admin'; its password is in {path}.")
            return
        password = secrets.token_urlsafe(18)
        user = user or User(username="admin")
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password + "\n")
        self.stdout.write(
            f"Admin user 'admin' with password: {password}\n"
            f"(shown once; kept in {path}, mode 0600)"
        )
