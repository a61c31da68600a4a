from __future__ import annotations

from django.shortcuts import get_object_or_404

from .keys import hash_key
from .models import ApiKey, User


def api_key_by_plaintext(*, key: str) -> ApiKey | None:
    return api_key_by_hash(key_hash=hash_key(key))


def api_key_by_hash(*, key_hash: str) -> ApiKey | None:
    return (
        ApiKey.objects.select_related("user")
        .filter(key_hash=key_hash, revoked_at__isnull=True, user__is_active=True)
        .first()
    )


def api_key_list(*, user: User):
    return ApiKey.objects.filter(user=user)


def api_key_get(*, user: User, key_id: int) -> ApiKey:
    return get_object_or_404(ApiKey, user=user, pk=key_id)
