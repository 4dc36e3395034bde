"""Models of the trading domain."""

from trading.models.accounts import BrokerAccount, Instrument
from trading.models.history import EquityPoint
from trading.models.orders import Fill, Order, Position
from trading.models.queue import OrderJob
from trading.models.simulated import SimulatedOrder, SimulatedPosition

__all__ = [
    "BrokerAccount",
    "EquityPoint",
    "Fill",
    "Instrument",
    "Order",
    "OrderJob",
    "Position",
    "SimulatedOrder",
    "SimulatedPosition",
]
