"""Run the fake Alpaca on its own, for trying the app against it by hand:

    python -m tests.fake_alpaca --key-id KEY --secret-key SECRET --price AAPL=200

then start the app with the URLs it prints (see docs/runbooks/alpaca.md).
"""

import argparse
import threading

from tests.fake_alpaca.server import FakeAlpaca


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_alpaca")
    parser.add_argument("--key-id", default="FAKEKEY")
    parser.add_argument("--secret-key", default="FAKESECRET")
    parser.add_argument("--cash", default="100000")
    parser.add_argument("--price", action="append", default=[], help="SYMBOL=PRICE")
    options = parser.parse_args()
    fake = FakeAlpaca().start()
    fake.add_account(options.key_id, options.secret_key, cash=options.cash)
    for item in options.price or ["AAPL=200", "MSFT=400"]:
        symbol, price = item.split("=", 1)
        fake.set_price(symbol.upper(), price)
    print(f"ALPACA_TRADING_URL={fake.rest_url}")
    print(f"ALPACA_STREAM_URL={fake.stream_url}")
    print(f"ALPACA_DATA_URL={fake.data_url}")
    print(f"keys: {options.key_id} / {options.secret_key}   (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
