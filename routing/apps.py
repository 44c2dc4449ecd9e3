from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "智能分拨"
    default_auto_field = "django.db.models.BigAutoField"
