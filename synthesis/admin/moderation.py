"""Admin for blocks, the audit log and registered engine builds."""

from __future__ import annotations

from django.contrib import admin

from synthesis.admin.actions import ModerationActionForm
from synthesis.admin.display import (
    ReadOnlyAdmin,
    pretty_json,
    timestamp_set_filter,
)
from synthesis.models import (
    AuditEntry,
    Block,
    EngineIdentity,
)
from synthesis.services import moderation

BlockActiveFilter = timestamp_set_filter("lifted_at", "state", "Lifted", "Active")


@admin.action(description="Lift selected blocks")
def lift_selected(modeladmin, request, queryset):
    reason = request.POST.get("reason", "").strip()
    lifted = 0
    for block in queryset.filter(lifted_at__isnull=True):
        moderation.block_lift(actor=request.user, block_id=block.pk, reason=reason)
        lifted += 1
    modeladmin.message_user(request, f"Lifted {lifted} block(s).")


@admin.register(Block)
class BlockAdmin(ReadOnlyAdmin):
    """Blocks are made by the block actions and the API; here they are read and lifted."""

    action_form = ModerationActionForm
    actions = [lift_selected]
    list_display = [
        "target",
        "target_id",
        "reason",
        "created_by",
        "created_at",
        "lifted_at",
        "lifted_by",
    ]
    list_filter = [BlockActiveFilter, "target", "created_at"]
    list_select_related = ["created_by", "lifted_by"]
    search_fields = ["=target_id", "reason", "created_by__username"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log: readable by admins, never edited or deleted."""

    list_display = [
        "created_at",
        "actor_username",
        "action",
        "target",
        "target_id",
        "reason",
    ]
    list_filter = ["action", "target", "created_at"]
    search_fields = ["=target_id", "actor_username", "reason"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "created_at",
        "actor_username",
        "action",
        "target",
        "target_id",
        "reason",
        "pretty_details",
    ]
    fields = readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}  # not even the bulk delete

    @admin.display(description="details")
    def pretty_details(self, obj):
        return pretty_json(obj.details)


@admin.register(EngineIdentity)
class EngineIdentityAdmin(admin.ModelAdmin):
    """Which engine builds the workers registered (docs/deploy.md); written by workers."""

    list_display = ["engine", "identity", "host", "registered_at"]
    list_filter = ["engine"]
    search_fields = ["identity", "host"]
    readonly_fields = [f.name for f in EngineIdentity._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
