"""Long scripts as segments (services/scripts.py, services/joins.py), end to end through
the API with the real Celery worker, PostgreSQL, Redis and espeak."""

from __future__ import annotations

import time

import numpy as np
import pytest

from synthesis.models import Artifact, SynthesisRequest
from synthesis.services import quota
from tests.support.api import assert_error, audio_bytes, client_for, decode, synthesize
from tests.support.moderation import worker_paused

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]

PARAGRAPHS = [
    "The lighthouse keeper woke before dawn.",
    "Fog rolled over the rocks and hid the sea.",
    "She climbed the stairs and lit the lamp.",
    "A ship's horn answered from far away.",
    "By noon the fog had lifted completely.",
    "The keeper wrote it all down in her log.",
]
SCRIPT = "\n\n".join(PARAGRAPHS)


def post(client, wait: float = 30, **body):
    return client.post(f"/api/v1/syntheses?wait={wait}", body, format="json")


def runs_settled(timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    in_flight = Artifact.objects.filter(status__in=Artifact.Status.IN_FLIGHT)
    while in_flight.exists():
        assert time.monotonic() < deadline, "runs still in flight"
        time.sleep(0.1)


def segments_header(response) -> dict[str, int]:
    pairs = [part.split("=") for part in response["X-Cache-Segments"].split(", ")]
    return {key: int(value) for key, value in pairs}


def test_a_script_is_one_segment_per_paragraph_and_a_repeat_is_a_hit(
    api, other_api, user
):
    first = synthesize(api, text=SCRIPT)
    body = first.json()
    assert first.status_code == 200, body
    assert first["X-Cache"] == "MISS"
    assert segments_header(first) == {"hit": 0, "coalesced": 0, "miss": 6}
    assert [s["text"] for s in body["segments"]] == PARAGRAPHS
    assert [s["cache"] for s in body["segments"]] == ["miss"] * 6
    assert all(s["status"] == "succeeded" for s in body["segments"])
    assert body["reused_characters"] == 0
    assert body["characters"] == len(SCRIPT)
    assert quota.characters_used(user=user) == sum(len(p) for p in PARAGRAPHS)

    # The whole audio: every segment plus the pauses between paragraphs.
    samples, rate = decode(audio_bytes(api, body))
    parts = sum(s["duration_s"] for s in body["segments"])
    assert samples.size / rate == pytest.approx(parts + 5 * 0.4, abs=0.01)

    again = synthesize(other_api, text=SCRIPT)
    repeat = again.json()
    assert again["X-Cache"] == "HIT"
    assert segments_header(again) == {"hit": 6, "coalesced": 0, "miss": 0}
    assert repeat["fingerprint"] == body["fingerprint"]
    assert repeat["reused_characters"] == repeat["characters"] == len(SCRIPT)
    assert audio_bytes(other_api, repeat) == audio_bytes(api, body)
    assert Artifact.objects.filter(kind=Artifact.Kind.RUN).count() == 6
    assert Artifact.objects.filter(kind=Artifact.Kind.JOIN).count() == 1
    assert sum(Artifact.objects.values_list("attempts", flat=True)) == 7
    # History search finds the script by a word of any paragraph.
    found = api.get("/api/v1/syntheses?search=stairs").json()
    assert [r["id"] for r in found["results"]] == [body["id"]]


def test_an_edit_reruns_only_the_changed_paragraph_and_charges_only_it(api, user):
    synthesize(api, text=SCRIPT)
    used = quota.characters_used(user=user)
    edited = list(PARAGRAPHS)
    edited[3] = "A ship's bell answered from the harbour."
    response = synthesize(api, text="\n\n".join(edited))
    body = response.json()
    assert response.status_code == 200, body
    assert response["X-Cache"] == "MISS"
    assert segments_header(response) == {"hit": 5, "coalesced": 0, "miss": 1}
    assert [s["cache"] for s in body["segments"]] == ["hit"] * 3 + ["miss"] + [
        "hit"
    ] * 2
    assert quota.characters_used(user=user) == used + len(edited[3])
    assert body["reused_characters"] == sum(len(p) for p in edited) - len(edited[3])
    runs = Artifact.objects.filter(kind=Artifact.Kind.RUN)
    assert runs.count() == 7 and all(a.attempts == 1 for a in runs)


def test_one_paragraph_is_one_segment_with_the_synthesis_fingerprint(api):
    body = synthesize(api, text="Just one paragraph here.").json()
    assert body["segment_count"] == 1
    [segment] = body["segments"]
    assert segment["fingerprint"] == body["fingerprint"]
    assert segment["text"] == body["text"]
    assert Artifact.objects.get().kind == Artifact.Kind.RUN
    # Explicit segments of one line are the same synthesis.
    again = post(api, segments=[{"text": "Just one paragraph here."}]).json()
    assert again["fingerprint"] == body["fingerprint"]
    assert again["cache"] == "hit"


def test_explicit_segments_with_two_voices_share_a_segment_with_a_plain_synthesis(
    api,
):
    line = "Are you coming to the harbour tonight?"
    plain = synthesize(api, text=line, voice="espeak:en-gb").json()
    response = post(
        api,
        voice="espeak:en-us",
        segments=[
            {"text": line, "voice": "espeak:en-gb"},
            {"text": "Only if the fog lifts."},
            {"text": "Then I will see you there.", "voice": "espeak:en-gb", "seed": 7},
        ],
    )
    body = response.json()
    assert response.status_code == 200, body
    assert [s["voice"] for s in body["segments"]] == [
        "espeak:en-gb",
        "espeak:en-us",
        "espeak:en-gb",
    ]
    assert [s["seed"] for s in body["segments"]] == [42, 42, 7]
    assert body["segments"][0]["fingerprint"] == plain["fingerprint"]
    assert segments_header(response) == {"hit": 1, "coalesced": 0, "miss": 2}
    # Another take of one line is another segment; the rest is reused.
    take = post(
        api,
        voice="espeak:en-us",
        segments=[
            {"text": line, "voice": "espeak:en-gb"},
            {"text": "Only if the fog lifts.", "seed": 8},
            {"text": "Then I will see you there.", "voice": "espeak:en-gb", "seed": 7},
        ],
    )
    assert segments_header(take) == {"hit": 2, "coalesced": 0, "miss": 1}
    assert take.json()["fingerprint"] != body["fingerprint"]


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"text": "x " * 25_003}, "text_too_long", "text"),
        ({"text": "Hi", "segments": [{"text": "Hi"}]}, "text_and_segments", "segments"),
        ({"segments": []}, "segments_empty", "segments"),
        ({"segments": [{"text": "Hi"}] * 501}, "too_many_segments", "segments"),
        ({"segments": [{"text": "y" * 601}]}, "segment_too_long", "segments[0].text"),
        ({"segments": [{"text": " "}]}, "text_empty", "segments[0].text"),
        ({"segments": [{"text": "Hi"}, {"text": "!!"}]}, "text_not_speakable", None),
        ({"segments": [{"text": "Hi", "seed": "7"}]}, "invalid", None),
        ({"segments": [{"voice": "espeak:en-us"}]}, "required", None),
        ({"segments": "Hi"}, "not_a_list", "segments"),
    ],
)
def test_bad_segments_are_400s_and_nothing_is_recorded(api, body, code, param):
    response = api.post("/api/v1/syntheses", body, format="json")
    error = assert_error(response, 400, code)
    if param is not None:
        assert error["param"] == param
    assert not SynthesisRequest.objects.exists()
    assert not Artifact.objects.exists()


def test_a_50005_character_text_is_refused(api):
    text = ("word " * 10_001)[:50_005]
    assert_error(
        api.post("/api/v1/syntheses", {"text": text}, format="json"),
        400,
        "text_too_long",
        "text",
    )


def test_a_failed_segment_fails_the_script_and_a_repeat_retries_only_it(api):
    with worker_paused():
        first = synthesize(api, wait=0, text=SCRIPT).json()
        broken = Artifact.objects.get(fingerprint=first["segments"][2]["fingerprint"])
        # A build the worker does not have: a permanent engine error for this run.
        Artifact.objects.filter(pk=broken.pk).update(model_version="another-build")
    failed = api.get(f"/api/v1/syntheses/{first['id']}?wait=30").json()
    assert failed["status"] == "failed", failed
    assert failed["error"]["code"] == "segment_failed"
    assert failed["error"]["segment"] == 2
    assert "Segment 2" in failed["error"]["message"]
    runs_settled()
    Artifact.objects.filter(pk=broken.pk).update(model_version=broken.model_version)

    retry = synthesize(api, text=SCRIPT)
    assert retry.status_code == 200, retry.json()
    assert segments_header(retry) == {"hit": 5, "coalesced": 0, "miss": 1}
    broken.refresh_from_db()
    assert broken.attempts == 2
    assert Artifact.objects.filter(kind=Artifact.Kind.RUN, attempts=1).count() == 5


def test_a_scripts_later_segments_queue_behind_other_users_requests(api, other_api):
    """Fair queueing: every synthesis' first segment goes ahead of any script's later
    segments, so one user's long script does not hold back another's line."""
    script = "\n\n".join(f"Paragraph number {n} of the long script." for n in range(12))
    with worker_paused():
        long = synthesize(api, wait=0, text=script).json()
        short = synthesize(other_api, wait=0, text="Someone else's short line.").json()
    done = other_api.get(f"/api/v1/syntheses/{short['id']}?wait=30").json()
    assert done["status"] == "succeeded"
    finished = api.get(f"/api/v1/syntheses/{long['id']}?wait=60").json()
    assert finished["status"] == "succeeded"
    short_done = Artifact.objects.get(fingerprint=done["fingerprint"]).finished_at
    later = Artifact.objects.filter(
        fingerprint__in=[s["fingerprint"] for s in finished["segments"][3:]]
    )
    assert all(a.finished_at > short_done for a in later)


def test_blocking_a_segment_blocks_every_script_that_contains_it(api, staff_api):
    body = synthesize(api, text=SCRIPT).json()
    segment = body["segments"][1]["fingerprint"]
    response = staff_api.post(
        "/api/v1/moderation/blocks",
        {"target": "artifact", "id": segment, "reason": "test"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    script = api.get(f"/api/v1/syntheses/{body['id']}").json()
    assert script["status"] == "blocked"
    assert api.get(body["audio_url"]).status_code == 410
    # The same script asked again is the tombstone: nothing runs.
    again = synthesize(api, text=SCRIPT).json()
    assert again["status"] == "blocked"
    assert sum(Artifact.objects.values_list("attempts", flat=True)) == 7
    staff_api.delete(
        f"/api/v1/moderation/blocks/{staff_api.get('/api/v1/moderation/blocks').json()['results'][0]['id']}"
    )
    restored = api.get(f"/api/v1/syntheses/{body['id']}").json()
    assert restored["status"] == "succeeded"


def test_a_script_through_the_openai_endpoint_is_the_same_synthesis(api, user):
    body = synthesize(api, text=SCRIPT).json()
    client = client_for(user)
    response = client.post(
        "/v1/audio/speech",
        {
            "model": "tts-1",
            "input": SCRIPT,
            "voice": "espeak:en-us",
            "response_format": "wav",
        },
        format="json",
    )
    assert response.status_code == 200
    assert response["X-Fingerprint"] == body["fingerprint"]
    assert response["X-Cache"] == "HIT"
    samples, _ = decode(b"".join(response.streaming_content))
    expected, _ = decode(audio_bytes(api, body))
    assert np.array_equal(samples, expected)


def test_stats_count_engine_work_once_for_a_script(api, staff_api):
    body = synthesize(api, text=SCRIPT).json()
    stats = staff_api.get("/api/v1/stats").json()
    segments = Artifact.objects.filter(kind=Artifact.Kind.RUN)
    assert stats["engine_runs"] == 6
    assert stats["engine_seconds"] == pytest.approx(
        sum(a.engine_seconds for a in segments), abs=0.01
    )
    synthesize(api, text=SCRIPT)
    saved = staff_api.get("/api/v1/stats").json()["engine_seconds_saved"]
    assert saved == pytest.approx(stats["engine_seconds"], abs=0.01)
    assert body["segment_count"] == 6
