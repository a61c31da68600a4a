"""manage.py purge --fingerprint X | --voice ID | --user NAME [--dry-run]

Deletes the Redis entries of the artifacts concerned and the files of those no history
row refers to (synthesis/services/moderation.py `purge`). The run is written to the audit log."""

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from synthesis.models import Block
from synthesis.services import purge as purge_service
from synthesis.services.errors import ServiceError


class Command(BaseCommand):
    help = "Purge cached audio by fingerprint, voice or user."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--fingerprint", help="an artifact's fingerprint")
        which.add_argument("--voice", help="a voice id (UUID)")
        which.add_argument("--user", help="a username")
        parser.add_argument(
            "--dry-run", action="store_true", help="report only, change nothing"
        )
        parser.add_argument("--reason", default="", help="recorded in the audit log")

    def handle(self, *args, **options):
        if options["fingerprint"]:
            target, target_id = Block.Target.ARTIFACT, options["fingerprint"]
        elif options["voice"]:
            target, target_id = Block.Target.VOICE, options["voice"]
        else:
            target, target_id = Block.Target.USER, options["user"]
        try:
            report = purge_service.purge(
                actor=None,
                target=target,
                target_id=target_id,
                dry_run=options["dry_run"],
                reason=options["reason"],
            )
        except ServiceError as error:
            raise CommandError(error.message) from None
        verb = "Would delete" if report.dry_run else "Deleted"
        for name in report.files_deleted:
            self.stdout.write(f"{verb} {name}")
        self.stdout.write(
            f"{'Dry run: ' if report.dry_run else ''}{report.artifacts} artifact(s), "
            f"{report.pointers_deleted} cache entr{'y' if report.pointers_deleted == 1 else 'ies'}, "
            f"{len(report.files_deleted)} unreferenced file(s), "
            f"{filesizeformat(report.bytes_freed)}."
        )
