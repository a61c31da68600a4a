"""Portal actions on a script's segments. Thin: selectors read, services write."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from synthesis import selectors
from synthesis.models import SynthesisRequest
from synthesis.services import scripts
from synthesis.services.errors import ServiceError

MAX_SEED = 2**32 - 1


@login_required
@require_POST
def segment_take(request, synthesis_id, index: int):
    """Runs one segment again with another seed; the new script reuses the rest."""
    synthesis = selectors.synthesis_get(user=request.user, synthesis_id=synthesis_id)
    try:
        take = scripts.segment_take(
            synthesis=synthesis,
            index=index,
            seed=secrets.randbelow(MAX_SEED + 1),
            channel=SynthesisRequest.Channel.PORTAL,
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(f"{reverse('portal:synthesize')}?synthesis={synthesis.pk}")
    messages.success(request, f"Another take of segment {index + 1} is on its way.")
    return redirect(f"{reverse('portal:synthesize')}?synthesis={take.pk}")
