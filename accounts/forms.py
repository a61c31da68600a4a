"""Portal forms for sign-up, log-in and API keys. They validate input only; the
writes happen in accounts.services."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.password_validation import (
    password_validators_help_texts,
    validate_password,
)
from django.core.exceptions import ValidationError

from .models import User
from .ratelimit import (
    client_ip,
    login_blocked,
    login_failure_record,
    login_failures_clear,
)

# Hashing cost grows with the password: none longer than this is hashed.
MAX_PASSWORD_CHARS = 128
RATE_LIMITED = "Too many failed log-in attempts. Wait a few minutes and try again."


class SignupForm(forms.Form):
    username = forms.CharField(
        label="Username",
        max_length=150,
        validators=[User.username_validator],
        help_text="Letters, digits and @ . + - _ only.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    email = forms.EmailField(
        label="Email (optional)",
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label="Password",
        max_length=MAX_PASSWORD_CHARS,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=" ".join(password_validators_help_texts()),
    )
    password2 = forms.CharField(
        label="Password again",
        max_length=MAX_PASSWORD_CHARS,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError("That username is taken.", code="username_taken")
        return username

    def clean(self):
        data = super().clean()
        password = data.get("password1")
        if password and password != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        elif password and "username" in data:
            try:
                validate_password(
                    password, User(username=data["username"], email=data["email"])
                )
            except ValidationError as error:
                self.add_error("password1", error)
        return data


class RateLimitedLoginMixin:
    """Says so when the failed-password limiter refuses a log-in (the backend,
    accounts/backends.py, counts the failures and refuses)."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if login_blocked(username=username, ip=client_ip(self.request)):
            raise ValidationError(RATE_LIMITED, code="rate_limited")
        return super().clean()


class LoginForm(RateLimitedLoginMixin, AuthenticationForm):
    """The portal's log-in form."""


class AdminLoginForm(RateLimitedLoginMixin, AdminAuthenticationForm):
    """The admin's log-in form."""


class LimitedPasswordChangeForm(PasswordChangeForm):
    """The old password is a password check too: it counts against the same limit."""

    def clean_old_password(self):
        username = self.user.get_username()
        ip = client_ip(self.request) if hasattr(self, "request") else ""
        if login_blocked(username=username, ip=ip):
            raise ValidationError(RATE_LIMITED, code="rate_limited")
        try:
            password = super().clean_old_password()
        except ValidationError:
            login_failure_record(username=username, ip=ip)
            raise
        login_failures_clear(username=username, ip=ip)
        return password


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        label="Key name",
        max_length=100,
        required=False,
        help_text="To tell your keys apart, e.g. “laptop” or “video pipeline”.",
    )
