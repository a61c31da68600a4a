"""`/`: what the product is, for a visitor who is not logged in; the Synthesize page
for everyone else."""

from __future__ import annotations

from django.shortcuts import render

from synthesis.portal import views


def home(request):
    if not request.user.is_authenticated and request.method in ("GET", "HEAD"):
        return render(request, "portal/landing.html")
    return views.synthesize(request)
