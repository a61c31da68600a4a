"""Writes for accounts and API keys."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from synthesis.services.errors import InvalidInput, LimitExceeded

from .keys import generate_key, hash_key
from .models import ApiKey, User

# last_used_at is informative: update it at most once a minute per key instead of
# writing on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def user_create(*, username: str, password: str, email: str = "") -> User:
    """Creates a user after the password validators agree (raises ValidationError)."""
    user = User(username=username, email=email)
    validate_password(password, user)
    user.set_password(password)
    try:
        # A savepoint: the caller's transaction survives a lost race for the name.
        with transaction.atomic():
            user.save()
    except IntegrityError:
        # The database's case-insensitive unique index (accounts.User.Meta): a
        # concurrent registration of the same name in another case won.
        raise username_taken() from None
    return user


def username_taken() -> InvalidInput:
    return InvalidInput("username_taken", "That username is taken.", param="username")


@transaction.atomic
def user_register(*, username: str, password: str, email: str = "") -> tuple[User, str]:
    """Creates the user and a first API key; returns (user, plaintext key)."""
    user = user_create(username=username, password=password, email=email)
    _, key = api_key_create(user=user, name="default")
    return user, key


def api_key_create(*, user: User, name: str = "") -> tuple[ApiKey, str]:
    """Returns the key row and the plaintext key, which is never stored. A user holds
    at most TTS_MAX_API_KEYS keys that are not revoked (LimitExceeded)."""
    with transaction.atomic():
        # One user's key creations queue on the user's row, so the count is exact.
        list(User.objects.select_for_update().filter(pk=user.pk).values("pk"))
        active = ApiKey.objects.filter(user=user, revoked_at__isnull=True).count()
        if active >= settings.TTS_MAX_API_KEYS:
            raise LimitExceeded(
                "too_many_api_keys",
                f"You have {active} API keys; the limit is "
                f"{settings.TTS_MAX_API_KEYS}. Revoke one you no longer use.",
            )
        return _api_key_insert(user=user, name=name)


def _api_key_insert(*, user: User, name: str) -> tuple[ApiKey, str]:
    key, prefix = generate_key()
    api_key = ApiKey.objects.create(
        user=user, name=name, prefix=prefix, key_hash=hash_key(key)
    )
    return api_key, key


def api_key_revoke(*, api_key: ApiKey) -> None:
    """Revoked at once in this process; other processes forget the key within
    API_KEY_CACHE_SECONDS (accounts/key_cache.py)."""
    from .key_cache import api_key_forget

    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    api_key_forget(key_hash=api_key.key_hash)


def api_key_touch(*, api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now
