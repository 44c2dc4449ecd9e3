from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from hotline.api import views

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
    path("", include(router.urls)),
]
