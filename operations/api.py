"""The staff-only stats endpoint: /api/admin/websocket-stats/."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from operations.selectors import websocket_stats_get
from operations.serializers import WebsocketStatsSerializer
from trading.api.schema import extend_schema


class WebsocketStatsApi(APIView):
    # is_staff: anonymous and non-staff users both get 403 (session auth sends no challenge).
    permission_classes = [IsAdminUser]

    @extend_schema(
        responses={
            200: WebsocketStatsSerializer,
            403: OpenApiResponse(description="Not signed in, or not staff."),
        },
        tags=["operations"],
    )
    def get(self, request: Request) -> Response:
        """Live /ws/portfolio statistics summed over every server process (staff only)."""
        return Response(WebsocketStatsSerializer(websocket_stats_get()).data)
