from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from synthesis.admin.actions import ModerationAdminMixin
from synthesis.admin.display import CompactChangeList
from synthesis.services.quota import character_limit, period_start

from .forms import AdminLoginForm
from .models import ApiKey, CharacterUsage, User

# The admin's log-in counts against the same failed-password limit as the portal's.
admin.site.login_form = AdminLoginForm


@admin.register(User)
class UserAdmin(CompactChangeList, ModerationAdminMixin, BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("Quota", {"fields": ("monthly_character_limit",)}),
    )
    list_display = [
        "username",
        "email",
        "is_active",
        "is_staff",
        "characters_this_month",
        "monthly_limit",
        "date_joined",
        "last_login",
    ]
    # is_active is the moderation state: a blocked user is inactive.
    list_filter = ["is_active", "is_staff", "is_superuser", "date_joined"]
    show_full_result_count = False

    def get_queryset(self, request):
        # This month's usage in the list query itself, not one query per row.
        usage = CharacterUsage.objects.filter(
            user=OuterRef("pk"), period_start=period_start()
        ).values("characters")[:1]
        return super().get_queryset(request).annotate(_used=Subquery(usage))

    @admin.display(description="characters this month")
    def characters_this_month(self, obj):
        return getattr(obj, "_used", None) or 0

    @admin.display(description="monthly limit")
    def monthly_limit(self, obj):
        return character_limit(obj)


class RevokedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(CompactChangeList, admin.ModelAdmin):
    list_display = [
        "prefix",
        "name",
        "user",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = [RevokedFilter, "created_at"]
    list_select_related = ["user"]
    search_fields = ["=prefix", "name", "user__username"]
    # Revocation is final: revoked_at is set by the revoke action, never edited (a
    # cleared revoked_at would bring a revoked key back to life).
    readonly_fields = ["user", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_selected"]
    # The secret is never shown, not even its hash.
    exclude = ["key_hash"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # keys are created through the API, which shows them once

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_selected(self, request, queryset):
        revoked = queryset.filter(revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        self.message_user(request, f"Revoked {revoked} key(s).")
