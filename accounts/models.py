from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower


class User(AbstractUser):
    # Per-user override of TTS_MONTHLY_CHARACTERS; null means the default.
    monthly_character_limit = models.PositiveIntegerField(null=True, blank=True)

    class Meta(AbstractUser.Meta):
        constraints = [
            # "Alice" and "alice" are one name: the database refuses the second even
            # when two registrations race past the form's check.
            models.UniqueConstraint(
                Lower("username"), name="username_unique_case_insensitive"
            )
        ]


class ApiKey(models.Model):
    """An API key. Only its SHA-256 is stored; `prefix` is kept in clear so people can
    tell their keys apart. Keys carry 256 random bits, so a fast hash is enough."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class CharacterUsage(models.Model):
    """Characters charged to a user in one calendar month (UTC): the single source of
    truth for quota enforcement and for what /api/v1/me reports. Updated only under a
    row lock (synthesis/services/quota.py), so concurrent requests cannot overspend."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="usage"
    )
    period_start = models.DateField()
    characters = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "period_start"], name="one_usage_row_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.period_start}: {self.characters}"
