"""Shared pieces of the moderators' admin pages: players, short texts, filters,
fingerprint search, read-only lists."""

from __future__ import annotations

import json
import re

from django.contrib import admin
from django.utils.html import format_html


def audio_player(url: str):
    # preload="none": a list page of 100 players fetches nothing until one is played.
    return format_html('<audio controls preload="none" src="{}"></audio>', url)


def pretty_json(value) -> str:
    return format_html(
        '<pre style="white-space: pre-wrap">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False),
    )


def seconds(value: float | None) -> str:
    """Engine and audio seconds as people read them: 68.29686990100004 -> 68.30 s."""
    return "-" if value is None else f"{value:.2f} s"


class CompactChangeList:
    """Lists that fit a 1280 px screen: small players, wrapped texts."""

    class Media:
        css = {"all": ["css/admin.css"]}


def short(text: str, length: int = 60) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def timestamp_set_filter(field: str, title: str, when_set: str, when_unset: str):
    """A list filter on whether a nullable timestamp (blocked_at, lifted_at) is set."""

    class TimestampSetFilter(admin.SimpleListFilter):
        parameter_name = title

        def lookups(self, request, model_admin):
            return [("set", when_set), ("unset", when_unset)]

        def queryset(self, request, queryset):
            if self.value() in ("set", "unset"):
                return queryset.filter(**{f"{field}__isnull": self.value() == "unset"})
            return queryset

    TimestampSetFilter.title = title
    return TimestampSetFilter


BlockedFilter = timestamp_set_filter(
    "blocked_at", "moderation", "Blocked", "Not blocked"
)


_FINGERPRINT = re.compile(r"^[0-9a-f]{8,64}$")


class FingerprintSearchMixin:
    """A search term that looks like a fingerprint, or the 16-character prefix the
    lists show, also matches fingerprints: exactly (the unique index) when complete,
    by prefix otherwise."""

    fingerprint_lookup = "fingerprint"

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        term = search_term.strip().lower()
        if _FINGERPRINT.match(term):
            lookup = self.fingerprint_lookup + (
                "" if len(term) == 64 else "__startswith"
            )
            results = results | queryset.filter(**{lookup: term})
        return results, may_have_duplicates


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by services: visible, never added or edited here."""

    show_full_result_count = False  # one COUNT per page, not two

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
