"""Link a user's broker API keys (stored encrypted), or unlink them."""

import getpass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from trading.broker.alpaca.credentials import AlpacaCredentials
from trading.broker.alpaca.gateway import AlpacaGateway
from trading.broker.types import BrokerAuthError, BrokerError
from trading.enums import BrokerProvider
from trading.models import BrokerAccount
from trading.services.common import DomainError
from trading.services.credentials import broker_link, broker_unlink


class Command(BaseCommand):
    help = (
        "Link Alpaca API keys to a user's account: "
        "link_broker <username> alpaca --key-id K --secret-key S [--live]. "
        "Without --secret-key the secret is read from the terminal (no shell history)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("provider", choices=[BrokerProvider.ALPACA.value])
        parser.add_argument("--key-id", help="The API key id.")
        parser.add_argument("--secret-key", help="The API secret key.")
        parser.add_argument("--live", action="store_true", help="Live-money keys (default: paper).")
        parser.add_argument(
            "--no-verify", action="store_true", help="Store without asking Alpaca (offline)."
        )
        parser.add_argument("--unlink", action="store_true", help="Forget the user's keys.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']!r}")
        if options["unlink"]:
            try:
                broker_unlink(user=user)
            except BrokerAccount.DoesNotExist:
                raise CommandError(f"{user} has no broker account") from None
            self.stdout.write(f"unlinked the broker keys of {user}")
            return
        key_id = options["key_id"] or input("Alpaca API key id: ")
        secret_key = options["secret_key"] or getpass.getpass("Alpaca API secret key: ")
        if not options["no_verify"]:
            self._verify(AlpacaCredentials(key_id.strip(), secret_key.strip(), options["live"]))
        try:
            account = broker_link(
                user=user,
                provider=options["provider"],
                key_id=key_id,
                secret_key=secret_key,
                live=options["live"],
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        mode = "live" if account.is_live else "paper"
        self.stdout.write(
            f"linked {mode} Alpaca keys …{account.credentials_hint} to {user}; "
            "the broker stream picks them up within seconds"
        )

    def _verify(self, credentials: AlpacaCredentials) -> None:
        """Refuse keys that Alpaca refuses; store them anyway when Alpaca is unreachable."""
        gateway = AlpacaGateway(credentials, url_override=settings.ALPACA_TRADING_URL or None)
        try:
            status = gateway.get_account().status
        except BrokerAuthError as error:
            raise CommandError(f"not linked: {error}") from None
        except BrokerError as error:
            self.stderr.write(f"warning: could not verify the keys ({error}); storing them anyway")
            return
        self.stdout.write(f"Alpaca accepted the keys (account status {status})")
