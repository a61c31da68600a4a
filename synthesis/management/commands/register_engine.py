"""`manage.py register_engine glmtts`: hash this host's engine build and register it, as a
worker serving the engine's queue does when it starts (docs/deploy.md)."""

from django.core.management.base import BaseCommand, CommandError

from synthesis.engines import ENGINES, EngineUnavailable, get_engine
from synthesis.services.engine_identity import engine_identity_register


class Command(BaseCommand):
    help = "Compute this host's identity of an engine and register it for the web tier."

    def add_arguments(self, parser):
        parser.add_argument("engine", choices=sorted(ENGINES))
        parser.add_argument("--host", help="recorded host name (default: this host)")

    def handle(self, *args, engine: str, host: str | None = None, **options):
        instance = get_engine(engine)
        if not instance.registers_identity:
            raise CommandError(
                f"{engine} computes its identity wherever it runs; nothing to register."
            )
        try:
            identity, manifest = instance.local_identity()
        except EngineUnavailable as exc:
            raise CommandError(str(exc)) from exc
        row = engine_identity_register(
            engine=engine, identity=identity, manifest=manifest, host=host
        )
        self.stdout.write(f"{engine} {identity} registered for {row.host}")
