"""REST API routes (placeholder until the API module lands)."""

urlpatterns: list[object] = []
