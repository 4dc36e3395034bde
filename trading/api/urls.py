"""REST API routes, mounted under /api/."""

from django.urls import path, re_path

from trading.api import base, views

urlpatterns = [
    path("account/", views.AccountApi.as_view(), name="api-account"),
    path("account/history/", views.AccountHistoryApi.as_view(), name="api-account-history"),
    path("positions/", views.PositionListApi.as_view(), name="api-positions"),
    path("orders/", views.OrderListApi.as_view(), name="api-orders"),
    path("orders/<uuid:id>/", views.OrderDetailApi.as_view(), name="api-order-detail"),
    path(
        "portfolio/snapshot/",
        views.PortfolioSnapshotApi.as_view(),
        name="api-portfolio-snapshot",
    ),
    # Last (and mounted after every other /api/ include): JSON, never Django's HTML 404,
    # for malformed ids and unknown paths; slash-less forms of the routes above.
    re_path(r"^(?P<rest>.*)$", base.api_fallback, name=base.FALLBACK_URL_NAME),
]
