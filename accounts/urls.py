from django.urls import path

from . import api

app_name = "accounts"

urlpatterns = [
    path("auth/register", api.RegisterApi.as_view(), name="register"),
    path("auth/token", api.TokenCreateApi.as_view(), name="token"),
    path("auth/keys", api.ApiKeyListApi.as_view(), name="keys"),
    path("auth/keys/<int:key_id>", api.ApiKeyRevokeApi.as_view(), name="key-revoke"),
    path("me", api.MeApi.as_view(), name="me"),
]
