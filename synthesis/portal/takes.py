"""Takes: the same text, voice and sample rate spoken with different seeds. "Another
take" runs at once with a seed not used yet; the page shows the takes side by side,
each with its seed, and "Keep" removes the other takes from the history."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from synthesis import selectors
from synthesis.models import SynthesisRequest
from synthesis.portal.forms import MAX_SEED
from synthesis.services import syntheses
from synthesis.services.errors import ServiceError

# Takes shown side by side (the newest); older ones stay in the history.
MAX_TAKES = 4


def request_speed(synthesis: SynthesisRequest) -> float:
    """The speed a request asked for (only a speed other than 1.0 is fingerprinted)."""
    return float((synthesis.artifact.inputs.get("params") or {}).get("speed", 1.0))


def takes_of(synthesis: SynthesisRequest) -> list[SynthesisRequest]:
    """The user's newest takes of the same text, voice, rate and speed, one per seed,
    `synthesis` first."""
    rows = (
        SynthesisRequest.objects.select_related("artifact", "voice")
        .filter(
            user_id=synthesis.user_id,
            text=synthesis.text,
            voice_ref=synthesis.voice_ref,
            sample_rate=synthesis.sample_rate,
            engine=synthesis.engine,
        )
        .exclude(pk=synthesis.pk)
        .order_by("-created_at")
    )
    speed, seeds, takes = request_speed(synthesis), {synthesis.seed}, [synthesis]
    for row in rows[:50]:
        if len(takes) == MAX_TAKES:
            break
        if row.seed not in seeds and request_speed(row) == speed:
            seeds.add(row.seed)
            takes.append(row)
    return takes


def _new_seed(used: set[int]) -> int:
    while True:
        seed = secrets.randbelow(MAX_SEED + 1)
        if seed not in used:
            return seed


@login_required
@require_POST
def another_take(request, synthesis_id):
    """The same request with a new seed, run at once; the earlier takes stay."""
    earlier = selectors.synthesis_get(user=request.user, synthesis_id=synthesis_id)
    try:
        synthesis = syntheses.synthesis_create(
            user=request.user,
            data=syntheses.SynthesisInput(
                text=earlier.text,
                voice=earlier.voice_ref,
                seed=_new_seed({t.seed for t in takes_of(earlier)}),
                sample_rate=earlier.sample_rate,
                speed=request_speed(earlier),
            ),
            channel=SynthesisRequest.Channel.PORTAL,
        )
    except ServiceError as error:
        messages.error(request, error.message)
        synthesis = earlier
    if request.headers.get("HX-Request") == "true":
        return render(
            request, "portal/_takes.html", {"synthesis": synthesis, "htmx_swap": True}
        )
    return redirect(f"/?synthesis={synthesis.pk}")


@login_required
@require_POST
def keep_take(request, synthesis_id):
    """Keeps this take: the other takes shown beside it leave the history."""
    kept = selectors.synthesis_get(user=request.user, synthesis_id=synthesis_id)
    others = [t for t in takes_of(kept) if t.pk != kept.pk]
    for take in others:
        syntheses.synthesis_delete(request=take)
    messages.success(
        request,
        f"Kept the take with seed {kept.seed}"
        + (
            f"; {len(others)} other take{'s' if len(others) != 1 else ''} removed."
            if others
            else "."
        ),
    )
    return redirect(f"/?synthesis={kept.pk}")
