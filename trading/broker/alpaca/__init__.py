"""The Alpaca broker: REST gateway, trade-updates streams and the market-data stream.

Only `gateway`, `errors`, `stream` and `market_data` import alpaca-py; everything else in the
project speaks the broker-neutral types of `trading.broker.types`. alpaca-py loads pandas and
numpy (about 55 MB), so those four are imported only where an Alpaca account needs them
(`trading.services.gateways`, the `serve` command): `credentials` and `wanted` are free.
"""

import warnings

# alpaca-py 0.44's streams are built on websockets' legacy client, which warns on import
# (it is slated for removal "by 2030"). The choice is the SDK's; keep our logs clean.
warnings.filterwarnings(
    "ignore", message="websockets.legacy is deprecated", category=DeprecationWarning
)
