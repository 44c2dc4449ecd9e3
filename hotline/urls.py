from django.contrib import admin
from django.urls import include, path

from hotline.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("hotline.api.urls")),
    path("healthz", healthz, name="healthz"),
    path("", include("hotline.web_urls")),
]

# An /api/ URL that matches no route (an id like 1.5 on an <int:pk> route) answers in JSON like
# every other API error; pages keep the HTML 404.
handler404 = "hotline.views.errors.not_found"
