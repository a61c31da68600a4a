from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from synthesis.api import openai as openai_api
from synthesis.metrics import metrics_view

from . import errors, health
from .security_headers import inline_styles_allowed

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("synthesis.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("admin-audio/", include("synthesis.admin.audio")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its setup script as a file: no inline script (CSP).
    path(
        "api/docs/",
        inline_styles_allowed(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="docs",
    ),
    # Browsers ask for /favicon.ico on pages without an icon link (admin, API docs).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"))),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("v1/", include(openai_api.urlpatterns)),
    # Unknown API paths answer in the error shape even with a trailing slash mismatch.
    re_path(r"^(api|v1)/", errors.api_not_found),
    # The portal (server-rendered pages).
    path("", include("accounts.portal_urls")),
    path("", include("synthesis.portal.urls")),
]

handler400 = errors.handler400
handler403 = errors.handler403
handler404 = errors.handler404
handler500 = errors.handler500
