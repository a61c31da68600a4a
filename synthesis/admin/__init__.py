"""The Django admin for moderators (docs/architecture.md "Moderation"). Django imports
this package; each module registers the admins of one area."""

from django.contrib import admin

from . import artifacts, moderation, voices  # noqa: F401

admin.site.site_header = "Echo TTS admin"
admin.site.site_title = "Echo TTS admin"
admin.site.index_title = "Moderation and operations"
# The lists need the width: the app list is one click away on the index.
admin.site.enable_nav_sidebar = False
