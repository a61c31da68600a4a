"""Portal forms. They check the shape of the input; what the input means (speakable
text, an allowed voice) is decided by the services, whose errors the views attach to
these forms."""

from __future__ import annotations

from django import forms
from django.conf import settings

from synthesis.models import Artifact, SynthesisRequest
from synthesis.services.voices import MAX_PROMPT_TEXT_CHARS

MAX_SEED = 2**32 - 1
# The API's speed range (OpenAI's).
MIN_SPEED, MAX_SPEED = 0.25, 4.0


def sample_rate_choices() -> list[tuple[int, str]]:
    return [
        (rate, f"{rate:,} Hz".replace(",", " ")) for rate in settings.TTS_SAMPLE_RATES
    ]


class SynthesisForm(forms.Form):
    # No max_length: a browser would cut a longer paste silently. The limit is shown
    # beside the field and enforced by the service, with a message saying by how much.
    text = forms.CharField(
        label="Text",
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 6, "data-char-count": "", "autofocus": True}
        ),
    )
    voice = forms.ChoiceField(label="Voice", required=False)
    seed = forms.IntegerField(
        label="Seed",
        min_value=0,
        max_value=MAX_SEED,
        initial=settings.TTS_DEFAULT_SEED,
        help_text="Another seed gives another take of the same text.",
    )
    sample_rate = forms.TypedChoiceField(
        label="Sample rate",
        coerce=int,
        choices=sample_rate_choices,
        initial=settings.TTS_DEFAULT_SAMPLE_RATE,
    )

    speed = forms.FloatField(
        label="Speed",
        required=False,
        min_value=MIN_SPEED,
        max_value=MAX_SPEED,
        initial=1.0,
        widget=forms.NumberInput(attrs={"step": "0.05"}),
        help_text="1 is normal; 0.5 half as fast, 2 twice as fast.",
    )

    def __init__(self, *args, voice_options=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["voice"].choices = list(voice_options)


class VoiceUploadForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    prompt_text = forms.CharField(
        label="Transcript",
        max_length=MAX_PROMPT_TEXT_CHARS * 2,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Exactly what is said in the clip.",
    )
    audio = forms.FileField(
        label="Audio clip",
        help_text="WAV, FLAC, OGG or MP3; 1 to 30 seconds, at most 20 MB.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ".wav,.flac,.ogg,.mp3,audio/*"}
        ),
    )
    consent = forms.BooleanField(
        label="I am this speaker, or I have the speaker's consent to clone this voice.",
        required=True,
    )


class HistoryFilterForm(forms.Form):
    search = forms.CharField(label="Search", required=False, max_length=200)
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status"), *Artifact.Status.choices],
    )
    cache = forms.ChoiceField(
        label="Cache",
        required=False,
        choices=[
            ("", "Any outcome"),
            (SynthesisRequest.Cache.HIT, "Served from cache"),
            (SynthesisRequest.Cache.COALESCED, "Joined an identical request"),
            (SynthesisRequest.Cache.MISS, "Synthesized"),
        ],
    )
    voice = forms.ChoiceField(label="Voice", required=False)

    def __init__(self, *args, voice_options=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["voice"].choices = [("", "Any voice"), *voice_options]
