import logging
import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tts_platform.settings")

app = Celery("tts_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _warm_up_engine(**_kwargs) -> None:
    """Load the active engine's model in each pool process before the first task, so
    the first request does not pay for it. A failure here is logged; the task that
    needs the engine reports it properly."""
    from synthesis.services.syntheses import active_engine

    try:
        active_engine().warm_up()
    except Exception:
        logging.getLogger(__name__).exception("engine warm-up failed")
    _touch_ready_file(".engine")


@worker_ready.connect
def _announce_ready(**_kwargs) -> None:
    _touch_ready_file("")


def _touch_ready_file(suffix: str) -> None:
    """`make run` prints its banner once the worker consumes (the file) and a pool
    process has loaded the engine (the file + ".engine"), so the first request after
    the banner does not wait for a model to load."""
    ready_file = os.environ.get("TTS_WORKER_READY_FILE")
    if ready_file:
        Path(ready_file + suffix).touch()
