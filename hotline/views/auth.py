"""Log in, log out, and the home page that sends each role to its desk."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from hotline.choices import Role

HOME_BY_ROLE = {
    Role.OPERATOR: "intake",
    Role.DISPATCHER: "dispatch_queue",
    Role.HANDLER: "workbench",
    Role.MANAGER: "workbench",
    Role.SUPERVISOR: "supervise",
    Role.AUDITOR: "access_log",
    Role.ADMIN: "ticket_search",
}


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


login = LoginView.as_view()
# Django's LogoutView accepts POST only: a link or an <img> cannot log someone out.
logout = auth_views.LogoutView.as_view()


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect(HOME_BY_ROLE.get(request.user.role, "ticket_search"))
