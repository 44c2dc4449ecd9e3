from django.contrib import admin
from django.urls import include, path

from hotline.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("hotline.api.urls")),
    path("healthz", healthz, name="healthz"),
    path("", include("hotline.web_urls")),
]
