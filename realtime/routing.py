"""WebSocket routes."""

from django.urls import path

from realtime.consumers import PortfolioConsumer

websocket_urlpatterns = [path("ws/portfolio", PortfolioConsumer.as_asgi())]
