"""Admin actions for moderators: block, unblock and purge, with a reason typed next to
the action menu. They call the services the staff API uses (synthesis/services/moderation.py),
so both write the same blocks and audit entries."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.defaultfilters import filesizeformat

from synthesis.services import moderation
from synthesis.services import purge as purge_service
from synthesis.services.errors import ServiceError


class ModerationActionForm(helpers.ActionForm):
    reason = forms.CharField(
        required=False,
        label="Reason",
        widget=forms.TextInput(
            attrs={"size": 40, "placeholder": "recorded in the log"}
        ),
    )


def _reason(request) -> str:
    return request.POST.get("reason", "").strip()


def _run(modeladmin, request, queryset, verb: str, operation) -> None:
    done, problems = 0, []
    for obj in queryset:
        target, target_id = moderation.target_id_of(obj)
        try:
            operation(target, target_id)
        except ServiceError as error:
            problems.append(f"{target_id}: {error.message}")
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{verb} {done} item(s).", messages.SUCCESS)
    for problem in problems:
        modeladmin.message_user(request, problem, messages.WARNING)


@admin.action(description="Block selected (purges their cache entries)")
def block_selected(modeladmin, request, queryset):
    def operation(target, target_id):
        moderation.block_create(
            actor=request.user,
            target=target,
            target_id=target_id,
            reason=_reason(request),
        )

    _run(modeladmin, request, queryset, "Blocked", operation)


@admin.action(description="Unblock selected")
def unblock_selected(modeladmin, request, queryset):
    def operation(target, target_id):
        moderation.block_lift_target(
            actor=request.user,
            target=target,
            target_id=target_id,
            reason=_reason(request),
        )

    _run(modeladmin, request, queryset, "Unblocked", operation)


def _purge(modeladmin, request, queryset, *, dry_run: bool) -> None:
    totals = {"artifacts": 0, "files": 0, "bytes": 0}
    for obj in queryset:
        target, target_id = moderation.target_id_of(obj)
        try:
            report = purge_service.purge(
                actor=request.user,
                target=target,
                target_id=target_id,
                dry_run=dry_run,
                reason=_reason(request),
            )
        except ServiceError as error:
            modeladmin.message_user(
                request, f"{target_id}: {error.message}", messages.WARNING
            )
            continue
        totals["artifacts"] += report.artifacts
        totals["files"] += len(report.files_deleted)
        totals["bytes"] += report.bytes_freed
    prefix = "Dry run: would purge" if dry_run else "Purged"
    modeladmin.message_user(
        request,
        f"{prefix} the cache entries of {totals['artifacts']} artifact(s) and "
        f"{totals['files']} unreferenced file(s) ({filesizeformat(totals['bytes'])}).",
        messages.INFO if dry_run else messages.SUCCESS,
    )


@admin.action(description="Purge cache entries and unreferenced files")
def purge_selected(modeladmin, request, queryset):
    _purge(modeladmin, request, queryset, dry_run=False)


@admin.action(description="Purge: dry run (report only)")
def purge_dry_run(modeladmin, request, queryset):
    _purge(modeladmin, request, queryset, dry_run=True)


class ModerationAdminMixin:
    action_form = ModerationActionForm
    actions = [block_selected, unblock_selected, purge_selected, purge_dry_run]
