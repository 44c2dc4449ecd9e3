from django.apps import AppConfig


class HotlineConfig(AppConfig):
    name = "hotline"
    verbose_name = "接诉即办"
    default_auto_field = "django.db.models.BigAutoField"
