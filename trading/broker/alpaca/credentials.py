"""An Alpaca account's API keys, importable without alpaca-py (and the pandas it loads)."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AlpacaCredentials:
    key_id: str
    secret_key: str = field(repr=False)  # never in a log line or a traceback's locals
    live: bool = False

    @property
    def hint(self) -> str:
        return self.key_id[-4:]
