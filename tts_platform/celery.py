import logging
import os

from celery import Celery
from celery.signals import worker_process_init

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
