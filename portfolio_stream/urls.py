"""URL routes: admin, auth pages, the portfolio page and the REST API."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from portfolio_stream.pages import portfolio_page
from portfolio_stream.views import metrics

urlpatterns = [
    path("", RedirectView.as_view(url="/portfolio/", permanent=False)),
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("portfolio/", portfolio_page, name="portfolio"),
    path("api/", include("trading.api.urls")),
    path("metrics", metrics, name="metrics"),
]
