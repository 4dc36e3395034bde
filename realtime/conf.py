"""Protocol timings and limits of the portfolio stream (docs/architecture.md, "WebSocket")."""

from rollout.flags import REALTIME_PORTFOLIO

# Kept well under the 55-60 s idle timeouts of common proxies and NAT tables.
HEARTBEAT_INTERVAL_SECONDS = 15.0
# Two missed heartbeats: the client is gone even if TCP has not noticed yet.
CLIENT_IDLE_TIMEOUT_SECONDS = 30.0

POSITION_BATCH_WINDOW_SECONDS = 1.0
# Price-driven updates are coalesced per user at the publisher over this window.
SOURCE_COALESCE_WINDOW_SECONDS = 1.0
# How long the consumer holds an event that arrived ahead of a missing seq.
REORDER_WAIT_SECONDS = 0.5

MAX_INBOUND_FRAME_BYTES = 4096
# Deeper nesting is refused before parsing: json.loads recurses once per level; our
# frames need three.
MAX_INBOUND_JSON_DEPTH = 32
MAX_INBOUND_FRAMES_PER_SECOND = 20
# Seconds in a row over the frame rate before the socket is closed.
RATE_LIMIT_STRIKES_BEFORE_CLOSE = 3

# Outbound frames waiting for the socket; a client this far behind is cut loose.
MAX_OUTBOUND_QUEUE_MESSAGES = 500
# Bytes written to a socket that its client has not read yet (daphne's transport buffer,
# which send() never waits for). Past this the client is too slow: close 4008.
MAX_SOCKET_BACKLOG_BYTES = 1024 * 1024
# How long a closing socket waits for its queued frames (the `error`) to go out.
CLOSE_FLUSH_TIMEOUT_SECONDS = 1.0
# How long the server waits for the client to answer its close frame before dropping the
# connection (autobahn's default is 1 s): time for a slow reader to reach the close code.
CLOSE_HANDSHAKE_TIMEOUT_SECONDS = 5.0
# A consumer that closed its socket and heard no disconnect within this long ends anyway
# (realtime.consumer_base): the server answers every close with one once the client
# answers or the close handshake times out, so a missing one means it was lost.
CLOSED_CONSUMER_GRACE_SECONDS = CLOSE_HANDSHAKE_TIMEOUT_SECONDS + 10.0

# A closed socket's Redis UNSUBSCRIBEs are sent in the background, batched over this delay
# and given up (logged) after the timeout; disconnect itself never waits for Redis.
UNSUBSCRIBE_BATCH_DELAY_SECONDS = 0.05
UNSUBSCRIBE_TIMEOUT_SECONDS = 5.0

# Server shutdown (SIGTERM): open sockets get 1012 in batches of this size, this far apart,
# then up to the grace period to answer before the rest are cut.
SHUTDOWN_BATCH_SIZE = 200
SHUTDOWN_BATCH_PAUSE_SECONDS = 0.05
SHUTDOWN_GRACE_SECONDS = 5.0

CHANNELS = ("positions", "orders", "account")
ROLLOUT_FLAG = REALTIME_PORTFOLIO


class CloseCode:
    """WebSocket close codes; the client reconnects on all but FEATURE_DISABLED and LOGGED_OUT."""

    NORMAL = 1000
    POLICY_VIOLATION = 1008
    INTERNAL_ERROR = 1011
    SERVER_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    HEARTBEAT_TIMEOUT = 4000
    SLOW_CONSUMER = 4008
    LOGGED_OUT = 4401
    FEATURE_DISABLED = 4403
