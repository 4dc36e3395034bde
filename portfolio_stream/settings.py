"""Django settings, read from the environment: DEBUG only on request, services only from URLs."""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF, UNSAFE_HASHES

from portfolio_stream.env import env_bool, env_float, env_int, env_list, env_str

# Lets `QuerySet[Model]` and friends be subscripted at run time, as mypy sees them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTFOLIO_VAR_DIR", str(BASE_DIR / "var")))
# SQLite's database and the test databases live here; a fresh clone has no var/ yet.
VAR_DIR.mkdir(parents=True, exist_ok=True)

# Off unless asked for: a bare `daphne portfolio_stream.asgi:application` is production.
# `make run` and the test settings (portfolio_stream/settings_dev.py) turn it on.
DEBUG = env_bool("DJANGO_DEBUG", default=False)

if DEBUG:
    # Only the embedded/development mode may run on a key everybody can read.
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-embedded-mode-key-do-not-use-in-production")
else:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY")
    if not SECRET_KEY:
        raise RuntimeError(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (production). "
            "For development set DJANGO_DEBUG=1, as `make run` does."
        )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# --- HTTPS (docs/deployment.md) ----------------------------------------------------------------
# Production is served over HTTPS by a TLS proxy (deploy/nginx.conf.example) in front of the
# daphne processes. DJANGO_HTTPS=0 serves plain HTTP with DEBUG off (`make staging`, locally).
HTTPS = env_bool("DJANGO_HTTPS", default=not DEBUG)
if HTTPS:
    # The proxy sets X-Forwarded-Proto on every request, overwriting the client's; daphne
    # must not be reachable without it, or a client could claim HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS
# Prometheus scrapes each daphne directly over plain HTTP (METRICS_ALLOWED_NETWORKS).
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
# A year, subdomains and preload by default; start lower (DJANGO_HSTS_SECONDS=3600) on a
# domain whose other hosts are not all on HTTPS yet. Preload only makes the domain eligible:
# submitting it to the browsers' list is a separate, manual step.
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 365 * 24 * 3600) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=True)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "waffle",
    "portfolio_stream",
    "rollout",
    "trading",
    "realtime",
    "operations",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "waffle.middleware.WaffleMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portfolio_stream.urls"
ASGI_APPLICATION = "portfolio_stream.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
DATABASES: dict[str, dict[str, Any]]
if DATABASE_URL:
    DATABASES = {"default": dict(dj_database_url.parse(DATABASE_URL, conn_max_age=0))}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": {
                # Several threads write in embedded mode (requests, worker, market):
                # WAL lets readers run beside a writer, IMMEDIATE takes the write lock
                # up front so two writers queue instead of failing mid-transaction.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, not :memory:, so tests can share it with worker subprocesses;
            # one per test run, so parallel runs never share (or delete) each other's.
            "TEST": {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")},
        }
    }

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Persistent connections: every thread that touches the database lives long (the
    # HTTP_THREADS request threads, the worker, the sockets' REALTIME_DB_THREADS, the
    # market), so a connection is one per thread, reused instead of reopened (open, pragmas,
    # functions) by every request. Django advises against this under ASGI because its
    # handler starts a thread per request; ours does not (portfolio_stream.http_threads).
    # close_old_connections, at every request's start and end, still closes one left in a
    # transaction or broken, and reopens after CONN_MAX_AGE. PostgreSQL keeps its pool.
    DATABASES["default"].update(CONN_MAX_AGE=600, CONN_HEALTH_CHECKS=True)

# Threads serving Django's HTTP requests (portfolio_stream.http_threads), each with its own
# database connection: the requests in progress at once in one process; more wait.
HTTP_THREADS = env_int("HTTP_THREADS", 8)

# Threads for the sockets' database trips (realtime.db_trips): their user, admission and
# snapshots. On PostgreSQL round trips overlap; SQLite serializes the snapshots' (IMMEDIATE)
# transactions anyway, and more threads only wait in its busy handler.
REALTIME_DB_THREADS = env_int(
    "REALTIME_DB_THREADS", 1 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 4
)

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3's pool replaces persistent connections, which Django asks us to disable
    # under ASGI (CONN_MAX_AGE must stay 0 with a pool). Its default size covers the threads
    # of one process that may hold a connection at once: the request threads, the sockets'
    # database threads and 8 more (the order worker's loops, the market, the broker streams,
    # the rollout watcher, the statistics); past it a thread waits up to `timeout`.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN_SIZE", 2),
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", HTTP_THREADS + REALTIME_DB_THREADS + 8),
        "timeout": 10,
    }

REDIS_URL = env_str("REDIS_URL")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portfolio",
        },
        "waffle": {
            # Redis down must not take the page, REST or the socket gate down with it.
            "BACKEND": "portfolio_stream.cache.FailSoftRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portfolio",
            # Bounds how long a flag read racing a change can keep the old value.
            "TIMEOUT": 60,
            # Fail fast while Redis is down: each flag read otherwise waits for the connect.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    }
    CHANNEL_LAYERS = {
        "default": {
            # The PubSub layer: the core layer loses messages under load and crashes
            # idle consumers with redis-py 8 (see docs/architecture.md).
            "BACKEND": "realtime.layers.ResilientRedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL}]},
        }
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "waffle": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Login throttling (django-axes) -----------------------------------------------------------
# The axes backend only refuses locked-out logins; ModelBackend does the authenticating.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Ten wrong passwords for one username from one address lock that pair out for 15 minutes
# (HTTP 429), on the login page and the admin's alike; a success clears the count. Locking by
# the pair keeps an attacker from locking a trader out from everywhere. The address is
# REMOTE_ADDR, which daphne takes from the proxy's X-Forwarded-For (--proxy-headers).
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/portfolio/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Daphne serves no static files itself; the ASGI app does in embedded mode.
SERVE_STATIC = env_bool("SERVE_STATIC", default=DEBUG)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_HTTPONLY = True

# --- Content-Security-Policy (django-csp) ------------------------------------------------------
# Pages load only same-origin scripts (ES modules), styles, images and connections (the
# socket: CSP's 'self' covers ws:/wss: of the page's own host). The inline code the templates
# do have is allowed by its hash, one by one; tests/deploy/test_csp.py fails when a template
# gains inline code that the policy does not cover. Prefer a stylesheet class to a new hash.
CSP_INLINE_SCRIPT_HASHES = [
    # templates/base.html: document.documentElement.classList.add("js");
    "'sha256-WZRJfWvsnNCPcxzZwvyhovnZGqhZaC+8gPGPRbx6wTk='",
]
CSP_INLINE_STYLE_HASHES: list[str] = []
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, *CSP_INLINE_SCRIPT_HASHES],
        # 'unsafe-hashes' lets these hashes match style="" attributes too (those exact values).
        "style-src": [
            SELF,
            *([UNSAFE_HASHES, *CSP_INLINE_STYLE_HASHES] if CSP_INLINE_STYLE_HASHES else []),
        ],
        # data: for the favicon, an inline SVG.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Money must never pass through float on its way to JSON.
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Portfolio Stream API",
    "DESCRIPTION": "Accounts, positions and orders of the signed-in trader. "
    "Money and quantities are decimal strings; times are ISO-8601 UTC.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"OrderSideEnum": "trading.enums.OrderSide"},
    # The views' annotations and field extensions, loaded only when a document is generated:
    # drf-spectacular's AutoSchema would add 2 MB to every server process (trading.api.schema).
    "PREPROCESSING_HOOKS": ["trading.api.openapi.annotations_apply"],
    # The /ws/portfolio handshake; its frames are in docs/api/asyncapi.yaml.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "realtime.openapi.add_websocket_path",
    ],
}

WAFFLE_CREATE_MISSING_FLAGS = False
# Sticky per-user percentages instead of waffle's per-browser cookie (rollout/models.py).
WAFFLE_FLAG_MODEL = "rollout.Flag"
# Every process must see a flag change within seconds: the shared cache in distributed mode;
# in embedded mode no cache, since a `manage.py rollout` run elsewhere could not clear ours.
WAFFLE_CACHE_NAME = "waffle"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's default config gives "django" a console handler of its own in DEBUG, so
        # every request error was printed twice (there and by root). Root prints it once.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # Failed logins and lockouts are warnings; its start banner and each success are not.
        "axes": {"level": "WARNING"},
    },
}

# --- Trading -------------------------------------------------------------------------------

# Fernet key for broker credentials at rest; derived from SECRET_KEY when unset, so
# rotating SECRET_KEY without setting this makes stored broker keys unreadable.
BROKER_CREDENTIALS_KEY = env_str("BROKER_CREDENTIALS_KEY")

DEMO_STARTING_CASH = "100000.00"

ORDER_WORKER_POLL_INTERVAL_SECONDS = env_float("ORDER_WORKER_POLL_INTERVAL_SECONDS", 0.5)
# Loops per order worker (serve's or run_order_worker's), PostgreSQL only: trading/worker.py.
ORDER_WORKER_THREADS = env_int("ORDER_WORKER_THREADS", 1)
# A claimed job whose worker died becomes claimable again after this lease. The worker
# renews it before each broker call; one call can chain two 20 s Alpaca requests (a
# submit, then the lookup after a duplicate client_order_id), so it must exceed 40 s.
ORDER_JOB_LEASE_SECONDS = env_float("ORDER_JOB_LEASE_SECONDS", 60.0)
ORDER_JOB_MAX_ATTEMPTS = env_int("ORDER_JOB_MAX_ATTEMPTS", 8)
ORDER_JOB_MAX_BACKOFF_SECONDS = env_float("ORDER_JOB_MAX_BACKOFF_SECONDS", 60.0)

SIMULATED_MARKET_SEED = env_int("SIMULATED_MARKET_SEED", 20261125)
SIMULATED_TICK_INTERVAL_SECONDS = env_float("SIMULATED_TICK_INTERVAL_SECONDS", 1.0)
# Displayed liquidity per price level: a larger market order fills in several parts.
SIMULATED_MAX_FILL_QTY = env_str("SIMULATED_MAX_FILL_QTY", "500")
# Emulates the broker's response time after it has accepted an order.
SIMULATED_BROKER_LATENCY_SECONDS = env_float("SIMULATED_BROKER_LATENCY_SECONDS", 0.0)

# --- Operator statistics ----------------------------------------------------------------------
# Every process writes its report this often; one silent for the timeout drops out of the sums.
STATS_REPORT_INTERVAL_SECONDS = env_float("STATS_REPORT_INTERVAL_SECONDS", 5.0)
STATS_PROCESS_TIMEOUT_SECONDS = env_float("STATS_PROCESS_TIMEOUT_SECONDS", 30.0)
# Redis keys of the reports and the hour of history (distributed mode).
STATS_REDIS_PREFIX = env_str("STATS_REDIS_PREFIX", "portfolio:stats:")

# Who may scrape /metrics without logging in (staff users always may).
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.1/32", "::1/128"])

POSITION_SYNC_INTERVAL_SECONDS = env_float("POSITION_SYNC_INTERVAL_SECONDS", 60.0)

# --- Alpaca ----------------------------------------------------------------------------------
# Per-user trading keys are linked with `manage.py link_broker` and stored encrypted; these
# settings only say where Alpaca is, and which keys and feed the deployment's market data uses.
# Each URL override is passed to alpaca-py's `url_override` as is: the REST base without
# /v2 (http://host:port), the full trade-updates and market-data WebSocket URLs.
ALPACA_TRADING_URL = env_str("ALPACA_TRADING_URL")
ALPACA_STREAM_URL = env_str("ALPACA_STREAM_URL")
ALPACA_DATA_URL = env_str("ALPACA_DATA_URL")
ALPACA_DATA_API_KEY = env_str("ALPACA_DATA_API_KEY")
ALPACA_DATA_SECRET_KEY = env_str("ALPACA_DATA_SECRET_KEY")
# iex (free: 30 symbols, one connection) or sip (paid: every symbol).
ALPACA_DATA_FEED = env_str("ALPACA_DATA_FEED", "iex").lower()
if ALPACA_DATA_FEED not in {"iex", "sip"}:
    raise ValueError(f"ALPACA_DATA_FEED must be iex or sip, got {ALPACA_DATA_FEED!r}")
