// Generated from realtime/events/schemas.py: do not edit; regenerate with
// `.venv/bin/python manage.py export_row_fields` (tests/test_row_shapes.py fails when it is stale).
// The fields of each row the server sends, on the socket and over REST, in the
// socket's order (REST's account adds provider, is_live and trading_day).

export const POSITION_ROW = Object.freeze(["symbol", "qty", "side", "avg_entry_price", "current_price", "lastday_price", "market_value", "cost_basis", "unrealized_pl", "unrealized_plpc", "unrealized_intraday_pl", "unrealized_intraday_plpc", "change_today"]);
export const ORDER_ROW = Object.freeze(["id", "client_order_id", "symbol", "side", "type", "time_in_force", "qty", "filled_qty", "filled_avg_price", "limit_price", "status", "reject_reason", "submitted_at", "filled_at", "canceled_at", "expired_at", "failed_at", "updated_at"]);
export const FILL_ROW = Object.freeze(["execution_id", "order_id", "symbol", "side", "qty", "price", "executed_at"]);
export const ACCOUNT_ROW = Object.freeze(["cash", "equity", "last_equity", "buying_power", "long_market_value", "short_market_value", "day_pl", "day_pl_pct", "realized_pl", "realized_pl_today"]);
