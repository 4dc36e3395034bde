"""Broker keys: link and unlink them, stored encrypted (trading.crypto), never shown back."""

import logging

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from trading.broker.alpaca.credentials import AlpacaCredentials
from trading.broker.types import BrokerAuthError
from trading.crypto import CredentialsUnreadableError, credentials_decrypt, credentials_encrypt
from trading.enums import OPEN_ORDER_STATUSES, BrokerProvider
from trading.models import BrokerAccount
from trading.services.accounts import trading_day_today
from trading.services.common import DomainError

logger = logging.getLogger(__name__)

# broker_status values; the stream host writes the connection states (see
# trading.services.broker_account_sync).
STATUS_LINKED = "linked"
STATUS_UNLINKED = "unlinked"


def _clean_key(value: str, name: str) -> str:
    value = value.strip()
    if not value or any(c.isspace() for c in value) or len(value) > 256:
        raise DomainError(f"The {name} must be a single word of at most 256 characters.")
    return value


def broker_link(
    *,
    user: AbstractBaseUser,
    provider: str,
    key_id: str,
    secret_key: str,
    live: bool = False,
) -> BrokerAccount:
    """Give the user's account these broker keys (creating the account if needed).

    Balances, positions and orders come from the broker once its stream connects.
    """
    if provider != BrokerProvider.ALPACA:
        raise DomainError(f"Only {BrokerProvider.ALPACA} accounts take API keys.")
    credentials = AlpacaCredentials(
        _clean_key(key_id, "key id"), _clean_key(secret_key, "secret key"), live
    )
    with transaction.atomic():
        account = BrokerAccount.objects.select_for_update().filter(user_id=user.pk).first()
        if account is None:
            account = BrokerAccount(user_id=user.pk, trading_day=trading_day_today())
        elif account.pk and account.orders.filter(status__in=OPEN_ORDER_STATUSES).exists():
            switching = (
                account.provider != provider
                or account.is_live != live
                or account.credentials_hint != credentials.hint
            )
            if switching:
                raise DomainError(
                    "The account has open orders at its current broker; "
                    "cancel them before linking other keys."
                )
        account.provider = provider
        account.credentials_encrypted = credentials_encrypt(
            {"key_id": credentials.key_id, "secret_key": credentials.secret_key}
        )
        account.credentials_hint = credentials.hint
        account.is_live = live
        account.broker_status = STATUS_LINKED
        account.broker_error = ""
        account.save()
    logger.info(
        "linked %s keys …%s (%s) to account %s",
        provider,
        credentials.hint,
        "live" if live else "paper",
        account.pk,
    )
    return account


def broker_unlink(*, user: AbstractBaseUser) -> BrokerAccount:
    """Forget the user's broker keys; the account keeps its history but can no longer trade."""
    with transaction.atomic():
        account = BrokerAccount.objects.select_for_update().get(user_id=user.pk)
        account.credentials_encrypted = ""
        account.credentials_hint = ""
        account.broker_status = STATUS_UNLINKED
        account.broker_error = ""
        account.save()
    logger.info("unlinked the broker keys of account %s", account.pk)
    return account


def alpaca_credentials_get(*, account: BrokerAccount) -> AlpacaCredentials:
    """The account's decrypted Alpaca keys; BrokerAuthError when there are none to use."""
    if not account.credentials_encrypted:
        raise BrokerAuthError("No Alpaca API keys are linked to this account.")
    try:
        stored = credentials_decrypt(account.credentials_encrypted)
    except CredentialsUnreadableError:
        raise BrokerAuthError(
            "The stored Alpaca keys cannot be decrypted (was the secret key rotated?); "
            "link them again."
        ) from None
    return AlpacaCredentials(stored["key_id"], stored["secret_key"], account.is_live)
