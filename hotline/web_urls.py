"""URLs of the server-rendered UI (included at the site root by hotline.urls)."""

from django.urls import path

from hotline.views import (
    audit,
    auth,
    callbacks,
    devsms,
    dispatch,
    intake,
    notifications,
    rating,
    scores,
    search,
    supervisor,
    tickets,
    workbench,
)

urlpatterns = [
    path("", auth.home, name="home"),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("intake/", intake.intake, name="intake"),
    path("intake/caller/", intake.caller_history, name="intake_caller_history"),
    path("intake/duplicates/", intake.duplicates, name="intake_duplicates"),
    path("intake/knowledge/", intake.knowledge, name="intake_knowledge"),
    path("places/<slug:level>/", intake.place_options, name="place_options"),
    path("dispatch/", dispatch.dispatch_queue, name="dispatch_queue"),
    path("workbench/", workbench.workbench, name="workbench"),
    path("supervise/", supervisor.supervise, name="supervise"),
    path("tickets/", search.ticket_search, name="ticket_search"),
    path("tickets/<int:pk>/", tickets.ticket_detail, name="ticket_detail"),
    path("tickets/<int:pk>/reveal/", tickets.ticket_reveal, name="ticket_reveal"),
    path("tickets/<int:pk>/<slug:action>/", tickets.ticket_action, name="ticket_action"),
    path("audit/", audit.access_log, name="access_log"),
    path("callbacks/", callbacks.callback_queue, name="callback_queue"),
    path("callbacks/<int:pk>/unreachable/", callbacks.callback_unreachable, name="callback_unreachable"),
    path("dev/sms/", devsms.sms_inbox, name="dev_sms_inbox"),
    path("scores/", scores.dashboard, name="score_dashboard"),
    path("scores/rankings/", scores.rankings, name="score_rankings"),
    path("scores/units/<int:pk>/", scores.unit_card, name="score_unit"),
    path("scores/exemptions/", scores.exemption_list, name="exemption_list"),
    path("scores/exemptions/<int:pk>/<slug:decision>/", scores.exemption_decide, name="exemption_decide"),
    # The resident's rating link (no login); the token is the only key.
    path("r/<str:token>", rating.rate, name="rate"),
    path("notifications/", notifications.notification_list, name="notification_list"),
    path("notifications/bell/", notifications.bell, name="notification_bell"),
    path("notifications/read-all/", notifications.notification_read_all, name="notification_read_all"),
    path("notifications/<int:pk>/", notifications.notification_go, name="notification_go"),
]
