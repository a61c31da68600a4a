"""The Voices page lists the builtin voices with a preview each; a preview is an
ordinary synthesis, made once and then answered from the cache."""

import pytest

from synthesis.models import Artifact, SynthesisRequest
from synthesis.services.previews import PREVIEW_USERNAME

pytestmark = pytest.mark.django_db(transaction=True)


def test_voices_page_lists_builtin_voices_with_language_and_accent(portal):
    page = portal.get("/voices/").content.decode()
    assert "Built-in voices" in page
    assert "espeak:en-gb" in page
    assert "English, British accent (male)" in page
    assert "Mandarin, standard accent (female)" in page
    assert page.count('preload="none"') == 7
    assert "/voices/builtin/en-us/preview/" in page


@pytest.mark.usefixtures("celery_worker")
def test_a_preview_is_synthesized_once_then_cached(portal, other_user, user):
    first = portal.get("/voices/builtin/en-gb/preview/")
    assert first.status_code == 200
    assert first["Content-Type"] == "audio/wav"
    audio = b"".join(first.streaming_content)
    assert audio[:4] == b"RIFF"

    portal.force_login(other_user)
    again = portal.get("/voices/builtin/en-gb/preview/")
    assert b"".join(again.streaming_content) == audio
    previews = SynthesisRequest.objects.filter(user__username=PREVIEW_USERNAME)
    assert [r.cache for r in previews.order_by("created_at")] == ["miss", "hit"]
    assert Artifact.objects.count() == 1
    # Previews stay out of people's history.
    assert not SynthesisRequest.objects.filter(user__in=[user, other_user]).exists()


@pytest.mark.usefixtures("celery_worker")
def test_a_mandarin_voice_previews_mandarin_text(portal):
    assert portal.get("/voices/builtin/cmn/preview/").status_code == 200
    preview = SynthesisRequest.objects.get(user__username=PREVIEW_USERNAME)
    assert "你好" in preview.text


def test_an_unknown_builtin_voice_is_a_404(portal):
    assert portal.get("/voices/builtin/af_heart/preview/").status_code == 404
    assert not SynthesisRequest.objects.exists()


def test_previews_need_a_login(client):
    response = client.get("/voices/builtin/en-us/preview/")
    assert response.status_code == 302
