"""Domain signals, sent after commit by the services; `trading` never imports `realtime`.

Every signal carries `account_id`, `user_id`, `seq` (the channel's sequence number assigned
in the transaction that made the change), `at` (when it changed, aware UTC), `cause`
(trade, price, sync or day_roll; see services.common) and a copy of the changed object as
it was committed; `prices_marked` carries a whole batch of price marks at once.
"""

from django.dispatch import Signal

# kwargs: account_id, seq, order
order_updated = Signal()
# kwargs: account_id, seq, fill, order
trade_executed = Signal()
# kwargs: account_id, seq, position (qty 0 means the position was closed)
position_changed = Signal()
# kwargs: account_id, seq, account
account_changed = Signal()
# kwargs: marked (a list of price_marks.AccountMarked: each account's marked positions with
# their positions seqs, and its account seq when its balances moved), at, cause ("price").
# One send per committed batch of a price tick, in place of a position_changed per mark and
# an account_changed per account: a tick marks 10,000 positions.
prices_marked = Signal()
# kwargs: none; an order job was queued (wakes an in-process worker at once)
order_job_queued = Signal()
# kwargs: role (worker, market, broker_stream); a long-running trading process has started
# (the operator's statistics start reporting it)
process_started = Signal()
