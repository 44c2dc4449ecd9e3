from django.contrib import admin

from routing.models import Place


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent", "is_township"]
    list_filter = ["level", "is_township"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]
