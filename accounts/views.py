"""Portal pages for accounts: sign-up, log-in and the account page (API keys, quota,
usage). Thin: forms validate, accounts.services writes, selectors read."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from synthesis.selectors import user_quota, user_usage
from synthesis.services.errors import ServiceError

from . import services
from .forms import ApiKeyCreateForm, LimitedPasswordChangeForm, SignupForm
from .selectors import api_key_get, api_key_list

REVOKED_KEYS_SHOWN = 10


def signup(request):
    if request.user.is_authenticated:
        return redirect("portal:synthesize")
    if not settings.TTS_REGISTRATION_OPEN:
        return render(request, "registration/signup_closed.html", status=403)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data["email"],
            )
        except ServiceError as error:  # the name was taken a moment ago
            form.add_error("username", error.message)
            return render(request, "registration/signup.html", {"form": form})
        login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
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
            # Active keys first (at most TTS_MAX_API_KEYS), then the latest revoked.
            "keys": api_key_list(user=user).order_by(
                F("revoked_at").desc(nulls_first=True), "-created_at"
            )[: settings.TTS_MAX_API_KEYS + REVOKED_KEYS_SHOWN],
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
            try:
                api_key, secret = services.api_key_create(
                    user=request.user, name=form.cleaned_data["name"]
                )
            except ServiceError as error:
                form.add_error("name", error.message)
                return _account_page(request, form=form, status=429)
            response = _account_page(
                request,
                form=ApiKeyCreateForm(),
                new_key={"row": api_key, "secret": secret},
            )
            response["Cache-Control"] = "no-store"  # it shows the plaintext key
            return response
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


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's, with the old password checked against the failed-password limit."""

    form_class = LimitedPasswordChangeForm
    success_url = reverse_lazy("account:password_change_done")

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        form.request = self.request
        return form
