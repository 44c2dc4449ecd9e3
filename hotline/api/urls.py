from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from hotline.api import stats, views

router = DefaultRouter()
router.register("units", views.UnitViewSet, basename="unit")
router.register("categories", views.CategoryViewSet, basename="category")
router.register("tickets", views.TicketViewSet, basename="ticket")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("tickets/<int:pk>/routing/", views.ticket_routing, name="api-ticket-routing"),
    path("knowledge/", views.knowledge, name="api-knowledge"),
    path("duplicates/", views.duplicates, name="api-duplicates"),
    path("stats/summary/", stats.summary, name="api-stats-summary"),
    path("stats/volume/", stats.volume, name="api-stats-volume"),
    path("stats/rates/", stats.rates, name="api-stats-rates"),
    path("stats/categories/", stats.categories, name="api-stats-categories"),
    path("stats/heatmap/", stats.heatmap, name="api-stats-heatmap"),
    path("stats/overdue/", stats.overdue, name="api-stats-overdue"),
    path("stats/districts/", stats.districts, name="api-stats-districts"),
    path("stats/problems/", stats.problems, name="api-stats-problems"),
    *(path(f"stats/{name}/export/", view, name=f"api-stats-{name}-export") for name, view in stats.EXPORTS.items()),
    path("stats/rankings/", stats.rankings, name="api-stats-rankings"),
    path("stats/rankings/export/", stats.rankings_export, name="api-stats-rankings-export"),
    path("stats/units/<int:pk>/", stats.unit_card, name="api-stats-unit"),
    path("stats/units/<int:pk>/bad-ratings/export/", stats.bad_ratings_export, name="api-stats-bad-export"),
    path("exemptions/", stats.exemptions, name="api-exemptions"),
    path("exemptions/<int:pk>/approve/", stats.exemption_approve, name="api-exemption-approve"),
    path("exemptions/<int:pk>/reject/", stats.exemption_reject, name="api-exemption-reject"),
    path("", include(router.urls)),
]
