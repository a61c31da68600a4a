"""`make superuser`: create an admin, asking for the name and password, or without a
prompt from DJANGO_SUPERUSER_USERNAME, DJANGO_SUPERUSER_PASSWORD and (optional)
DJANGO_SUPERUSER_EMAIL. Run again with those set, it makes the existing account an
admin with that password instead of failing, so the command can be repeated."""

from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an admin (interactive, or from DJANGO_SUPERUSER_* without a prompt)."

    def handle(self, *args, **options) -> None:
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        if not (username and password):
            call_command("createsuperuser")
            return
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            call_command("createsuperuser", interactive=False, verbosity=0)
            action = "created"
        else:
            user.is_staff = user.is_superuser = user.is_active = True
            user.set_password(password)
            user.save()
            action = "updated (admin rights and password)"
        self.stdout.write(f"Admin '{username}' {action}: log in at /admin/.")
