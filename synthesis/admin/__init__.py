"""The Django admin for moderators (docs/architecture.md "Moderation"). Django imports
this package; each module registers the admins of one area."""

from . import artifacts, moderation, voices  # noqa: F401
