"""The portal's synthesis and voice pages through Django's test client: forms,
ownership, errors. The account pages are in tests/accounts/test_views.py, the journey in
a real browser in test_browser.py."""

import hashlib
import io

import pytest
import soundfile
from django.core.files.uploadedfile import SimpleUploadedFile

from synthesis import storage
from synthesis.models import SynthesisRequest, Voice
from synthesis.services import syntheses
from tests.support.tones import voiced_tone_wav

pytestmark = pytest.mark.django_db
# Tests that need data committed (the worker reads it; files go on commit) say so.
COMMITS = pytest.mark.django_db(transaction=True)


def wav_upload(name="clip.wav", **kwargs):
    return SimpleUploadedFile(name, voiced_tone_wav(**kwargs), "audio/wav")


# --- Synthesize and history -----------------------------------------------------------


@COMMITS
@pytest.mark.usefixtures("celery_worker")
def test_synthesize_with_htmx_returns_the_panel_then_the_status_settles(portal, user):
    response = portal.post(
        "/",
        {
            "text": "Portal line one.",
            "voice": "espeak:en-us",
            "seed": 7,
            "sample_rate": 16000,
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    synthesis = SynthesisRequest.objects.get(user=user)
    assert synthesis.channel == "portal"
    assert (synthesis.seed, synthesis.sample_rate) == (7, 16000)
    assert b'id="synthesis-status"' in response.content
    assert b"<html" not in response.content
    for _ in range(100):
        status = portal.get(f"/syntheses/{synthesis.pk}/status/")
        if b'data-status="succeeded"' in status.content:
            break
    assert b'data-status="succeeded"' in status.content
    assert f"/api/v1/syntheses/{synthesis.pk}/audio".encode() in status.content
    assert b"Synthesized in" in status.content
    audio = portal.get(
        f"/api/v1/syntheses/{synthesis.pk}/audio", HTTP_RANGE="bytes=0-99"
    )
    assert audio.status_code == 206
    assert audio["Content-Type"] == "audio/wav"


def test_synthesize_without_htmx_redirects_to_the_result(portal, user):
    response = portal.post(
        "/", {"text": "No script here.", "voice": "", "seed": 42, "sample_rate": 24000}
    )
    synthesis = SynthesisRequest.objects.get(user=user)
    assert response.status_code == 302
    assert response["Location"] == f"/?synthesis={synthesis.pk}"
    page = portal.get(response["Location"])
    assert page.context["synthesis"] == synthesis


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("   ", b"text must not be empty."),
        ("\U0001f600\U0001f600", b"nothing that can be spoken"),
    ],
)
def test_bad_text_shows_a_form_error_and_records_nothing(portal, text, message):
    response = portal.post("/", {"text": text, "seed": 42, "sample_rate": 24000})
    assert response.status_code == 400
    assert message in response.content
    assert not SynthesisRequest.objects.exists()


def test_someone_elses_synthesis_is_a_404_everywhere(portal, other_portal, user):
    portal.post("/", {"text": "Mine only.", "seed": 42, "sample_rate": 24000})
    synthesis = SynthesisRequest.objects.get(user=user)
    for path in (
        f"/syntheses/{synthesis.pk}/status/",
        f"/?synthesis={synthesis.pk}",
        f"/?again={synthesis.pk}",
        f"/history/{synthesis.pk}/delete/",
        f"/api/v1/syntheses/{synthesis.pk}/audio",
    ):
        assert other_portal.get(path).status_code == 404, path
    assert other_portal.post(f"/history/{synthesis.pk}/delete/").status_code == 404
    assert SynthesisRequest.objects.filter(pk=synthesis.pk).exists()
    assert b"Mine only." not in other_portal.get("/history/").content


def test_again_prefills_the_form_with_another_seed(portal, user):
    portal.post(
        "/",
        {
            "text": "Take two.",
            "voice": "espeak:en-gb",
            "seed": 42,
            "sample_rate": 22050,
        },
    )
    synthesis = SynthesisRequest.objects.get(user=user)
    form = portal.get(f"/?again={synthesis.pk}").context["form"]
    assert form.initial["text"] == "Take two."
    assert form.initial["voice"] == "espeak:en-gb"
    assert form.initial["sample_rate"] == 22050
    assert form.initial["seed"] != 42


@COMMITS
@pytest.mark.usefixtures("celery_worker")
def test_history_search_filters_and_pagination(portal, user):
    for i in range(12):
        portal.post(
            "/", {"text": f"Line number {i}.", "seed": 42, "sample_rate": 24000}
        )
    first = SynthesisRequest.objects.get(text="Line number 0.")
    syntheses.synthesis_wait(request=first, timeout=30)
    portal.post("/", {"text": "Line number 0.", "seed": 42, "sample_rate": 24000})
    page = portal.get("/history/").context["page"]
    assert page.paginator.count == 12  # the repeat is grouped with its first request
    assert len(page.object_list) == 10
    assert page.object_list[0].text == "Line number 0."  # newest first
    assert page.object_list[0].requests == 2
    second = portal.get("/history/?page=2").context["page"]
    assert len(second.object_list) == 2
    found = portal.get("/history/?search=number+1").context["page"]
    assert sorted(s.text for s in found) == [
        "Line number 1.",
        "Line number 10.",
        "Line number 11.",
    ]
    hits = portal.get("/history/?cache=hit").context["page"]
    assert [s.text for s in hits] == ["Line number 0."]
    by_voice = portal.get("/history/?voice=espeak:en-gb").context["page"]
    assert by_voice.paginator.count == 0
    empty = portal.get("/history/?search=nothing-like-this")
    assert b"Nothing matches these filters." in empty.content


def test_history_empty_state_tells_what_to_do(portal):
    response = portal.get("/history/")
    assert b"No syntheses yet." in response.content
    assert b"Synthesize your first line" in response.content


def test_delete_asks_first_then_removes_the_row(portal, user):
    portal.post("/", {"text": "Delete me.", "seed": 42, "sample_rate": 24000})
    synthesis = SynthesisRequest.objects.get(user=user)
    confirm = portal.get(f"/history/{synthesis.pk}/delete/")
    assert confirm.status_code == 200
    assert b"Delete this synthesis?" in confirm.content
    assert SynthesisRequest.objects.filter(pk=synthesis.pk).exists()
    response = portal.post(f"/history/{synthesis.pk}/delete/")
    assert response.status_code == 302
    assert not SynthesisRequest.objects.filter(pk=synthesis.pk).exists()


# --- Voices ---------------------------------------------------------------------------


def test_voice_upload_stores_a_canonical_mono_clip(portal, user):
    response = portal.post(
        "/voices/",
        {
            "name": "Narrator",
            "prompt_text": "A test of my voice.",
            "audio": wav_upload(channels=2, rate=22050),
            "consent": "on",
        },
    )
    assert response.status_code == 302
    voice = Voice.objects.get(owner=user)
    assert (voice.name, voice.kind, voice.listed, voice.consent) == (
        "Narrator",
        "prompt",
        True,
        True,
    )
    assert voice.sample_rate == 22050
    assert abs(voice.duration_s - 2.0) < 0.01
    with storage.open_file(voice.audio_name) as handle:
        data = handle.read()
    assert hashlib.sha256(data).hexdigest() == voice.audio_sha256
    info = soundfile.info(io.BytesIO(data))
    assert (info.channels, info.subtype) == (1, "PCM_16")
    page = portal.get("/voices/")
    assert b"Narrator" in page.content
    clip = portal.get(f"/api/v1/voices/{voice.pk}/audio")
    assert clip.status_code == 200
    assert clip["Content-Type"] == "audio/wav"
    # The voice can be picked on the Synthesize page.
    choices = dict(portal.get("/").context["form"].fields["voice"].choices)
    assert dict(choices["Your voices"]) == {str(voice.pk): "Narrator"}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"consent": ""}, "consent", "This field is required."),
        ({"audio": "short"}, "audio", "at least 1 s"),
        ({"audio": "long"}, "audio", "longer than 30 s"),
        ({"audio": "junk"}, "audio", "not audio in a supported format"),
        ({"prompt_text": "   "}, "prompt_text", "This field is required."),
    ],
)
def test_voice_upload_errors_name_the_problem(portal, changes, field, message):
    audio = {
        "short": wav_upload(seconds=0.5),
        "long": wav_upload(seconds=31, rate=8000),
        "junk": SimpleUploadedFile("clip.wav", b"not really audio", "audio/wav"),
    }.get(changes.pop("audio", None), wav_upload())
    data = {"name": "V", "prompt_text": "Words.", "audio": audio, "consent": "on"}
    data.update(changes)
    response = portal.post("/voices/", data)
    assert response.status_code == 400
    assert any(message in e for e in response.context["form"].errors[field])
    assert not Voice.objects.exists()


@COMMITS
def test_voices_are_private_and_deletable(portal, other_portal, user):
    portal.post(
        "/voices/",
        {"name": "Mine", "prompt_text": "Hi.", "audio": wav_upload(), "consent": "on"},
    )
    voice = Voice.objects.get(owner=user)
    assert b"Mine" not in other_portal.get("/voices/").content
    assert other_portal.get(f"/api/v1/voices/{voice.pk}/audio").status_code == 404
    assert other_portal.post(f"/voices/{voice.pk}/delete/").status_code == 404
    assert b"Delete this voice?" in portal.get(f"/voices/{voice.pk}/delete/").content
    response = portal.post(f"/voices/{voice.pk}/delete/")
    assert response.status_code == 302
    assert not Voice.objects.filter(pk=voice.pk).exists()
    assert not storage.exists(voice.audio_name)
    assert b"No voices yet." in portal.get("/voices/").content


def test_account_shows_quota_usage_and_hit_ratio(portal, user):
    for _ in range(4):
        portal.post("/", {"text": "Count me.", "seed": 42, "sample_rate": 24000})
    response = portal.get("/account/")
    assert response.context["usage"]["requests"] == 4
    # One engine run, three repeats: 75 % answered without running the engine.
    assert b'data-testid="hit-ratio">75 %' in response.content
    assert response.context["quota"]["characters_used"] >= len("Count me.")


def test_an_oversized_voice_upload_is_refused_before_it_is_read(portal):
    big = SimpleUploadedFile("big.wav", b"\0" * (21 * 1024 * 1024), "audio/wav")
    data = {"name": "V", "prompt_text": "Words.", "audio": big, "consent": "on"}
    response = portal.post("/voices/", data)
    assert response.status_code == 413
    assert b"limited to 20 MB" in response.content
    assert not Voice.objects.exists()
