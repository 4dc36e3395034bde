"""Which sockets are open in this process: user -> connections -> subscribed channels."""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ConnectionInfo:
    user_id: int
    # Called when the rollout no longer includes the user: the socket closes with 4403.
    on_rollout_off: Callable[[], None] | None = None
    subscriptions: set[str] = field(default_factory=set)


class ConnectionRegistry:
    """Process-local; several tabs of one user are several connections."""

    def __init__(self) -> None:
        self._connections: dict[str, ConnectionInfo] = {}
        self._by_user: dict[int, set[str]] = defaultdict(set)

    def add(
        self, channel_name: str, user_id: int, on_rollout_off: Callable[[], None] | None = None
    ) -> None:
        self._connections[channel_name] = ConnectionInfo(user_id, on_rollout_off)
        self._by_user[user_id].add(channel_name)

    def remove(self, channel_name: str) -> None:
        info = self._connections.pop(channel_name, None)
        if info is None:
            return
        sockets = self._by_user.get(info.user_id)
        if sockets is not None:
            sockets.discard(channel_name)
            if not sockets:
                del self._by_user[info.user_id]

    def set_subscriptions(self, channel_name: str, channels: set[str]) -> None:
        if channel_name in self._connections:
            self._connections[channel_name].subscriptions = set(channels)

    def connections_of(self, user_id: int) -> set[str]:
        return set(self._by_user.get(user_id, set()))

    def user_ids(self) -> set[int]:
        return set(self._by_user)

    def rollout_off(self, user_id: int) -> int:
        """Tell each socket of the user that the rollout left them; how many were told."""
        told = 0
        for channel_name in self.connections_of(user_id):
            info = self._connections.get(channel_name)
            if info is not None and info.on_rollout_off is not None:
                info.on_rollout_off()
                told += 1
        return told

    def summary(self) -> dict[str, Any]:
        subscriptions: dict[str, int] = defaultdict(int)
        for info in self._connections.values():
            for channel in info.subscriptions:
                subscriptions[channel] += 1
        return {
            "connections": len(self._connections),
            "users": len(self._by_user),
            "subscriptions": dict(subscriptions),
        }


registry = ConnectionRegistry()
