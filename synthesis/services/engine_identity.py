"""The registry of engine builds: the only code that writes or reads EngineIdentity.

GPU workers hash their checkpoints and code when they start and record the result here;
web processes, which hold no weights, fingerprint requests with the latest record.
"""

from __future__ import annotations

import logging
import socket

from django.utils import timezone

from synthesis.engines import ENGINES, get_engine
from synthesis.models import EngineIdentity

logger = logging.getLogger(__name__)


def engine_identity_register(
    *, engine: str, identity: str, manifest: dict, host: str | None = None
) -> EngineIdentity:
    """Records that `host` serves this build of `engine`, now. Registering the same build
    again (a restart) moves it to the front, so a rollback becomes the latest again."""
    row, _ = EngineIdentity.objects.update_or_create(
        engine=engine,
        identity=identity,
        host=host or socket.gethostname(),
        defaults={"manifest": manifest, "registered_at": timezone.now()},
    )
    return row


def engine_identity_latest(*, engine: str) -> EngineIdentity | None:
    return (
        EngineIdentity.objects.filter(engine=engine).order_by("-registered_at").first()
    )


def engines_register_for_worker(*, queues, host: str | None = None) -> list[str]:
    """Computes and registers the identity of every engine that needs it and is served
    from one of `queues`. An engine this host cannot load is skipped with a warning, so
    a worker without GLM-TTS still serves its other queues. Returns the names registered.
    """
    registered = []
    for name in ENGINES:
        engine = get_engine(name)
        if not engine.registers_identity or engine.queue not in queues:
            continue
        try:
            identity, manifest = engine.local_identity()
        except Exception as exc:  # a worker must start even if one engine cannot
            logger.warning("engine %s is not served by this worker: %s", name, exc)
            continue
        engine_identity_register(
            engine=name, identity=identity, manifest=manifest, host=host
        )
        logger.info("engine %s registered with identity %s", name, identity)
        registered.append(name)
    # The children forked after this close the inherited database connection
    # (Celery's Django fixup does so at worker_process_init).
    return registered
