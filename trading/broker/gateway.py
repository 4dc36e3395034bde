"""The interface every broker gateway implements."""

from typing import Protocol

from trading.broker.types import BrokerOrder, BrokerPosition, OrderRequest


class BrokerGateway(Protocol):
    """Blocking calls to one broker account; run them in a thread, never on the event loop."""

    def submit_order(self, request: OrderRequest) -> BrokerOrder:
        """Send a new order; raises BrokerRejected or BrokerUnavailable.

        An order the broker already holds under the request's client_order_id (an earlier
        attempt whose answer was lost) is never placed again: the broker refuses the
        duplicate and the answer is the order it holds. The worker relies on it.
        """
        ...

    def cancel_order(self, broker_order_id: str) -> None:
        """Ask the broker to cancel; the outcome arrives as a trade update."""
        ...

    def get_order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        """The broker's copy of our order, or None when it never arrived."""
        ...

    def list_positions(self) -> list[BrokerPosition]:
        """Every open position at the broker."""
        ...
