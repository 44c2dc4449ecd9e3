"""Admin: reference data is edited here; tickets and trails are read-only (the services own all writes)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from hotline.models import (
    AccessLog,
    Assignment,
    CalendarDay,
    CalendarYear,
    Category,
    Clock,
    Notification,
    SlaPolicy,
    Ticket,
    TicketEvent,
    Unit,
    User,
)
from hotline.sla import policies
from hotline.workcalendar import calendar


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible to administrators, never editable: changes go through hotline.services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "short_name", "kind", "parent", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name", "short_name"]
    autocomplete_fields = ["parent"]
    raw_id_fields = ["place"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "display_name", "role", "unit", "is_active", "last_login"]
    list_filter = ["role", "is_active", "unit__kind"]
    search_fields = ["username", "display_name", "unit__name"]
    autocomplete_fields = ["unit"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("热线角色", {"fields": ("role", "unit", "display_name")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        ("热线角色", {"fields": ("role", "unit", "display_name")}),
    )


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "parent", "scope", "is_active"]
    list_filter = ["scope", "is_active", "parent"]
    search_fields = ["code", "name"]


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "is_workday", "name"]
    list_filter = ["is_workday"]
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        calendar.invalidate()  # this process at once; others within the override TTL

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        calendar.invalidate()


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "complete", "note"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        calendar.invalidate()


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    """Policies are versioned: add a new one with a later start instead of editing history."""

    list_display = [
        "name",
        "priority",
        "category",
        "unit_kind",
        "effective_from",
        "is_active",
        "dispatch_value",
        "dispatch_unit",
        "sign_value",
        "sign_unit",
        "contact_value",
        "contact_unit",
        "reply_value",
        "reply_unit",
        "warn_percent",
    ]
    list_filter = ["priority", "is_active", "unit_kind"]
    autocomplete_fields = ["category"]

    def has_delete_permission(self, request, obj=None):
        return False  # running clocks point at their policy; deactivate instead

    def get_readonly_fields(self, request, obj=None):
        # A policy already in force only changes by a new version, so old clocks stay explainable.
        if obj is not None:
            return [f.name for f in obj._meta.fields if f.name not in ("is_active", "name")]
        return []

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        policies.invalidate()


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "level", "kind", "message", "read_at"]
    list_filter = ["level", "kind"]
    show_full_result_count = False


class AssignmentInline(admin.TabularInline):
    model = Assignment
    fields = ["unit", "role", "status", "dispatched_at", "signed_at", "replied_at", "ended_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = ["number", "title", "status", "priority", "lead_unit", "created_at"]
    list_filter = ["status", "priority", "request_type", "channel"]
    search_fields = ["number", "title"]
    show_full_result_count = False  # no COUNT(*) over millions of tickets
    exclude = ["caller_name", "caller_phone", "caller_phone_raw", "caller_id"]  # PII is read via the logged UI
    inlines = [AssignmentInline]


@admin.register(Clock)
class ClockAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "kind", "state", "due_at", "calendar_estimated"]
    list_filter = ["kind", "state", "calendar_estimated"]
    show_full_result_count = False


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "ticket", "kind", "actor", "from_status", "to_status"]
    list_filter = ["kind"]
    show_full_result_count = False


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "unit", "action", "ticket", "masked", "reason", "ip_address"]
    list_filter = ["action", "masked", "channel"]
    search_fields = ["user__username", "ticket__number", "reason"]
    show_full_result_count = False
