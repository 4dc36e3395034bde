"""URL routes: admin (with the operator pages), auth pages, the portfolio page and the REST API."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from operations.urls import admin_urlpatterns, api_urlpatterns, metrics_urlpatterns
from portfolio_stream.pages import portfolio_page

urlpatterns = [
    path("", RedirectView.as_view(url="/portfolio/", permanent=False)),
    # Before admin.site.urls, whose catch-all would answer these with a 404.
    path("admin/", include(admin_urlpatterns)),
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("portfolio/", portfolio_page, name="portfolio"),
    path("api/", include(api_urlpatterns)),
    path("api/", include("trading.api.urls")),
    *metrics_urlpatterns,
]
