from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import errors, health

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("synthesis.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Unknown API paths answer in the error shape even with a trailing slash mismatch.
    re_path(r"^(api|v1)/", errors.api_not_found),
    # The portal (server-rendered pages).
    path("", include("accounts.portal_urls")),
    path("", include("synthesis.portal_urls")),
]

handler400 = errors.handler400
handler403 = errors.handler403
handler404 = errors.handler404
handler500 = errors.handler500
