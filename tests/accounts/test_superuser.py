"""`make superuser` without a prompt: creates the admin, and can be run again."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_superuser_from_the_environment_can_be_repeated(monkeypatch, capsys):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "admin")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "first-pass-123")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "admin@example.org")
    call_command("superuser")
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password("first-pass-123")
    assert admin.email == "admin@example.org"

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "second-pass-456")
    call_command("superuser")
    admin.refresh_from_db()
    assert admin.check_password("second-pass-456")
    assert get_user_model().objects.filter(username="admin").count() == 1
    assert "updated" in capsys.readouterr().out


def test_superuser_makes_an_existing_account_an_admin(monkeypatch, user):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", user.username)
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "new-pass-789")
    call_command("superuser")
    user.refresh_from_db()
    assert user.is_superuser and user.is_staff
