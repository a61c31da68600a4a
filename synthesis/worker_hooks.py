"""Celery worker start-up: a worker that serves an engine's queue registers the engine
build it will run (synthesis/services/engine_identity.py), so the web tier can fingerprint
requests for it before enqueueing."""

from celery.signals import worker_init


@worker_init.connect(weak=False)
def register_served_engines(sender=None, **kwargs) -> None:
    # worker_init runs in the main process after -Q is applied and before the pool
    # forks, so the hashing happens once and the children inherit its result.
    from synthesis.services.engine_identity import engines_register_for_worker

    queues = set(sender.app.amqp.queues.consume_from)
    engines_register_for_worker(queues=queues, host=sender.hostname)
