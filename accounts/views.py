"""Portal pages for accounts: sign-up, log-in and the account page (API keys, quota,
usage). Thin: forms validate, accounts.services writes, selectors read."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from synthesis.selectors import user_quota, user_usage

from . import services
from .forms import ApiKeyCreateForm, SignupForm
from .selectors import api_key_get, api_key_list


def signup(request):
    if request.user.is_authenticated:
        return redirect("portal:synthesize")
    if not settings.TTS_REGISTRATION_OPEN:
        return render(request, "registration/signup_closed.html", status=403)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.user_create(
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password1"],
            email=form.cleaned_data["email"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request, f"Welcome, {user.username}! Type something to hear it."
        )
        return redirect("portal:synthesize")
    return render(request, "registration/signup.html", {"form": form})


def _account_page(request, *, form, new_key=None, status=200):
    user = request.user
    usage = user_usage(user=user)
    quota = user_quota(user=user)
    return render(
        request,
        "portal/account.html",
        {
            "form": form,
            "new_key": new_key,
            "keys": api_key_list(user=user),
            "quota": quota,
            "usage": usage,
        },
        status=status,
    )


@login_required
def account(request):
    """GET shows the page; POST creates a key and shows its secret in this response
    only (it is never stored, so it cannot be shown again)."""
    if request.method == "POST":
        form = ApiKeyCreateForm(request.POST)
        if form.is_valid():
            api_key, secret = services.api_key_create(
                user=request.user, name=form.cleaned_data["name"]
            )
            return _account_page(
                request,
                form=ApiKeyCreateForm(),
                new_key={"row": api_key, "secret": secret},
            )
        return _account_page(request, form=form, status=400)
    return _account_page(request, form=ApiKeyCreateForm())


@login_required
@require_POST
def api_key_revoke(request, key_id: int):
    api_key = api_key_get(user=request.user, key_id=key_id)
    services.api_key_revoke(api_key=api_key)
    messages.success(
        request, f"Key {api_key.prefix}… was revoked; it stops working now."
    )
    return redirect("account:account")
