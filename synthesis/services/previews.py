"""Short samples of the builtin voices for the Voices page. A preview is an ordinary
synthesis (same fingerprint, cache and worker as any other), recorded under one
service account so it stays out of people's history and quota: the first play of a
voice runs the engine once, every later play by anyone is a cache hit."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from synthesis.engines import Engine
from synthesis.models import SynthesisRequest

from . import syntheses
from .errors import NotFound
from .voices import builtin_ref

PREVIEW_USERNAME = "voice-previews"
PREVIEW_TEXTS = {
    "zh": "你好！这就是我的声音。每一句话只合成一次，之后都从缓存里播放。",
    "en": "Hello! This is how I sound. Each sentence is made once, "
    "then played from the cache.",
}
# How long the page's audio request waits for a first engine run.
PREVIEW_WAIT_SECONDS = 60


def preview_text(language: str) -> str:
    return PREVIEW_TEXTS.get(language, PREVIEW_TEXTS["en"])


def preview_account():
    """The service account previews are recorded under (it cannot log in)."""
    user, created = get_user_model().objects.get_or_create(
        username=PREVIEW_USERNAME, defaults={"is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def voice_preview(
    *, engine: Engine, name: str, wait: float = PREVIEW_WAIT_SECONDS
) -> SynthesisRequest:
    """The preview synthesis of builtin voice `name`, finished unless `wait` ran out."""
    voice = engine.voice(name)
    if voice is None:
        raise NotFound("not_found", f"No builtin voice {name!r}.")
    request = syntheses.synthesis_create(
        user=preview_account(),
        data=syntheses.SynthesisInput(
            text=preview_text(voice.language), voice=builtin_ref(engine, name)
        ),
        channel=SynthesisRequest.Channel.PORTAL,
    )
    return syntheses.synthesis_wait(request=request, timeout=wait)
