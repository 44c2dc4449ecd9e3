"""Settings for the 12345 hotline.

Production is configured with environment variables only; every value below has a
development default so `make run` works on a fresh machine. Typed helpers fail loudly
on a malformed value instead of silently running with a surprise.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from celery.schedules import crontab  # noqa: F401  (used by later beat entries)
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str = "False") -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def envint(name: str, default: str) -> int:
    value = os.environ.get(name, default)
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def envfloat(name: str, default: str) -> float:
    value = os.environ.get(name, default)
    try:
        return float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from exc


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", "False")
TESTING = "pytest" in sys.modules or os.environ.get("HOTLINE_TESTING") == "1"
# Demo mode loads demo accounts and shows the development SMS inbox; never on in production.
DEMO_MODE = envbool("HOTLINE_DEMO", "False")

# Offline developer commands that sign nothing lasting may run without a configured key.
_KEYLESS_COMMANDS = {"makemigrations", "showmigrations", "check", "spectacular", "help", "version", "diffsettings"}
_MANAGE_COMMAND = sys.argv[1] if len(sys.argv) > 1 and sys.argv[0].endswith("manage.py") else ""

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG or DEMO_MODE or TESTING:
        SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-12345-hotline"
    elif _MANAGE_COMMAND in _KEYLESS_COMMANDS and "--deploy" not in sys.argv:
        # A random key per process: nothing it signs outlives the command, and it is useless to anyone else.
        import secrets

        SECRET_KEY = secrets.token_urlsafe(50)
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set in production (DEBUG and HOTLINE_DEMO are off).")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served locally: no CDN on a government network
    "django_htmx",
    "axes",
    "routing",
    "hotline",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # AxesMiddleware must be last: it turns a lockout into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hotline.urls"
WSGI_APPLICATION = "hotline.wsgi.application"

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
                "hotline.context_processors.hotline",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# DATABASE_URL wins. Without it, the local PostgreSQL's `hotline` database (`make run` creates it,
# starting the local cluster if it is down). PostgreSQL only: keyword search (tsvector + GIN), the
# rollup queue's trigger and the deadline sweep's SKIP LOCKED have no SQLite equivalent.
import dj_database_url  # noqa: E402

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {"default": dj_database_url.parse("postgres://postgres@127.0.0.1:5432/hotline", conn_max_age=60)}
# After a PostgreSQL restart, a pooled connection is dead: check it before use so the
# web app recovers on its own instead of failing the first request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Every query here is OLTP-sized; PostgreSQL's JIT would spend up to a second compiling the
    # FILTERed aggregates of the rollups and dashboards in order to run them for milliseconds.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = os.environ.get("HOTLINE_PG_OPTIONS", "-c jit=off")
DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get("HOTLINE_TEST_DB", "test_hotline")

# Node-local caches built once and memory-mapped by every process (the segmentation dictionary):
# HOTLINE_CACHE_DIR, else systemd's CacheDirectory= (deploy/systemd sets it), else the temp dir.
HOTLINE_CACHE_DIR = os.environ.get("HOTLINE_CACHE_DIR") or os.environ.get("CACHE_DIRECTORY") or None

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "hotline.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock an account+IP pair after repeated failures.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = envint("AXES_COOLOFF_MINUTES", "15") / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "hotline.auth.lockout_response"

# --- Language and time ----------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Cache (rate limits, heartbeats) ----------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("CACHE_URL", REDIS_URL.rsplit("/", 1)[0] + "/1"),
        # Parallel test runs (one per HOTLINE_TEST_DB) must not share rate-limit counters.
        "KEY_PREFIX": os.environ.get(
            "CACHE_PREFIX", f"hotline-{DATABASES['default']['TEST']['NAME']}" if TESTING else "hotline"
        ),
        "TIMEOUT": 300,
        # An unreachable Redis must fail fast (rate limits fail open), never hang a request.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

# --- Celery ---------------------------------------------------------------------
# Tests use their own Redis database so a `make run` worker never steals a test's task.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL.rsplit("/", 1)[0] + "/14" if TESTING else REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task gets the task redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# An unacknowledged task (its worker died) is redelivered after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", "600")}
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "False")
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "heartbeat-beat": {"task": "hotline.tasks.beat_heartbeat", "schedule": 30.0},
    # Warnings, breaches and escalations of every clock; a missed run is caught up by the next.
    "sweep-clocks": {"task": "hotline.tasks.sweep_clocks", "schedule": 60.0, "options": {"expires": 55}},
    # SMS rows whose hand-off to the broker failed, and rows whose worker died mid-send.
    "sweep-sms-outbox": {"task": "hotline.tasks.sweep_sms_outbox", "schedule": 60.0, "options": {"expires": 55}},
    # Fold new ticket events into the score and dashboard rollups (each rating also triggers one).
    "refresh-rollups": {"task": "hotline.tasks.refresh_rollups", "schedule": 60.0, "options": {"expires": 55}},
    # 每月一题 candidates segment ticket texts, too slow for every minute.
    "refresh-problems": {"task": "hotline.tasks.refresh_problems", "schedule": 3600.0, "options": {"expires": 3000}},
}

# --- REST API -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "hotline.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": os.environ.get("API_LOGIN_RATE", "20/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "12345 接诉即办 API",
    "DESCRIPTION": "Tickets, transitions and reference data of the 12345 citizen service hotline.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "hotline.choices.TicketStatus",
        "AssignmentStatusEnum": "hotline.choices.AssignmentStatus",
        "RequestStatusEnum": "hotline.choices.RequestStatus",
        "ClockStateEnum": "hotline.choices.ClockState",
        # The reply input's `result` and an assignment's `reply_result` are the same choice set.
        "HandlingResultEnum": "hotline.choices.HandlingResult",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Security -------------------------------------------------------------------
# Production (neither DEBUG, demo mode nor tests) is HTTPS-only by default, so a forgotten variable
# fails safe; `make run` (DEBUG=1) and the test suite keep plain-HTTP defaults. Each one can still be
# switched off explicitly, e.g. for a closed government network without certificates.
_HTTPS_DEFAULT = "False" if DEBUG or DEMO_MODE or TESTING else "True"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", str(12 * 3600))
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", _HTTPS_DEFAULT)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", _HTTPS_DEFAULT)
# Load balancers and monitoring probe nodes over plain HTTP on the private network; a redirect
# would make every node look down.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000" if _HTTPS_DEFAULT == "True" else "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", str(SECURE_HSTS_SECONDS > 0))
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", str(SECURE_HSTS_SECONDS > 0))
# Only trust X-Forwarded-Proto when a proxy we run sets it (nginx overwrites the client's value);
# without a proxy a client could claim HTTPS over plain HTTP.
BEHIND_PROXY = envbool("BEHIND_PROXY", "False")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"jieba": {"level": "WARNING"}},
}

# --- SMS gateway -------------------------------------------------------------------
# Chinese gateways send approved templates only: map our template keys to each provider's codes.
HOTLINE_SMS = {
    "BACKEND": os.environ.get("HOTLINE_SMS_BACKEND", "hotline.sms.backends.DevelopmentBackend"),
    "SIGN_NAME": os.environ.get("HOTLINE_SMS_SIGN_NAME", "12345热线"),
    "RATE_PER_SECOND": envint("HOTLINE_SMS_RATE_PER_SECOND", "20"),
    "MAX_ATTEMPTS": envint("HOTLINE_SMS_MAX_ATTEMPTS", "5"),
    "SENDING_LEASE_SECONDS": envint("HOTLINE_SMS_SENDING_LEASE_SECONDS", "300"),
    "ALIYUN_ACCESS_KEY_ID": os.environ.get("ALIYUN_SMS_ACCESS_KEY_ID", ""),
    "ALIYUN_ACCESS_KEY_SECRET": os.environ.get("ALIYUN_SMS_ACCESS_KEY_SECRET", ""),
    "ALIYUN_ENDPOINT": os.environ.get("ALIYUN_SMS_ENDPOINT", "dysmsapi.aliyuncs.com"),
    "TENCENT_SECRET_ID": os.environ.get("TENCENT_SMS_SECRET_ID", ""),
    "TENCENT_SECRET_KEY": os.environ.get("TENCENT_SMS_SECRET_KEY", ""),
    "TENCENT_REGION": os.environ.get("TENCENT_SMS_REGION", "ap-beijing"),
    "TENCENT_SDK_APP_ID": os.environ.get("TENCENT_SMS_SDK_APP_ID", ""),
    "TEMPLATE_CODES": {
        "rating_link": {
            "aliyun": os.environ.get("ALIYUN_SMS_TEMPLATE_RATING", ""),
            "tencent": os.environ.get("TENCENT_SMS_TEMPLATE_RATING", ""),
        },
        "merged_outcome": {
            "aliyun": os.environ.get("ALIYUN_SMS_TEMPLATE_MERGED", ""),
            "tencent": os.environ.get("TENCENT_SMS_TEMPLATE_MERGED", ""),
        },
        "escalation": {
            "aliyun": os.environ.get("ALIYUN_SMS_TEMPLATE_ESCALATION", ""),
            "tencent": os.environ.get("TENCENT_SMS_TEMPLATE_ESCALATION", ""),
        },
    },
    # Escalations also go by SMS to staff who have a mobile number on file.
    "ESCALATION_SMS": envbool("HOTLINE_ESCALATION_SMS", "False"),
}

# --- Domain settings (administrator-tunable defaults; see docs/domain.md) ---------
HOTLINE = {
    # Caller's phone region for numbers typed without a country code.
    "PHONE_REGION": os.environ.get("HOTLINE_PHONE_REGION", "CN"),
    "TICKET_TEXT_MAX": envint("HOTLINE_TICKET_TEXT_MAX", "5000"),
    "RECENT_CALLER_DAYS": envint("HOTLINE_RECENT_CALLER_DAYS", "30"),
    "EXTENSION_CAP_WORKING_DAYS": envint("HOTLINE_EXTENSION_CAP_DAYS", "15"),
    "PAGE_SIZE": envint("HOTLINE_PAGE_SIZE", "25"),
    # Rating links: validity, the public base URL put into SMS, and lookups allowed per IP a minute.
    "RATING_LINK_DAYS": envint("HOTLINE_RATING_LINK_DAYS", "7"),
    "PUBLIC_BASE_URL": os.environ.get("HOTLINE_PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
    "RATING_LOOKUPS_PER_MINUTE": envint("HOTLINE_RATING_LOOKUPS_PER_MINUTE", "30"),
    # No SMS rating after this many hours → the operators call; after N unreachable calls → 无效回访.
    "CALLBACK_AFTER_HOURS": envint("HOTLINE_CALLBACK_AFTER_HOURS", "72"),
    "CALLBACK_MAX_ATTEMPTS": envint("HOTLINE_CALLBACK_MAX_ATTEMPTS", "3"),
    # Routing: tickets whose category confidence reaches the threshold and whose place is known
    # dispatch themselves; the rest wait for a dispatcher with ranked suggestions.
    "AUTO_DISPATCH": envbool("HOTLINE_AUTO_DISPATCH", "True"),
    # 0.95: bench/bench_routing.py measured 98.2% unit precision at 76.2% coverage (97.4% at 0.80);
    # set it from a city's own held-out figures (`evaluate_router`).
    "AUTO_DISPATCH_THRESHOLD": envfloat("HOTLINE_AUTO_DISPATCH_THRESHOLD", "0.95"),
    # A text shorter than this (title + content, characters after cleaning, spaces not counted)
    # waits for a dispatcher whatever its confidence: one calibration serves every length and is
    # over-confident on the shortest (bench_routing at 0.95: 87.5% unit precision under 30
    # characters, 93.3% on titles alone). 0 turns the rule off.
    "AUTO_DISPATCH_MIN_CHARS": envint("HOTLINE_AUTO_DISPATCH_MIN_CHARS", "30"),
    "DUPLICATE_SAME_CALLER_DAYS": envint("HOTLINE_DUPLICATE_CALLER_DAYS", "30"),
    "DUPLICATE_SAME_PLACE_DAYS": envint("HOTLINE_DUPLICATE_PLACE_DAYS", "7"),
    "DUPLICATE_MIN_SIMILARITY": envfloat("HOTLINE_DUPLICATE_MIN_SIMILARITY", "0.3"),
    # Deadline sweep: rows claimed per transaction, and how long one sweep may keep going.
    "SWEEP_BATCH": envint("HOTLINE_SWEEP_BATCH", "1000"),
    "SWEEP_BUDGET_SECONDS": envint("HOTLINE_SWEEP_BUDGET_SECONDS", "50"),
    # After a reply deadline is breached: who hears of it, and how many minutes after the breach.
    # handler → unit manager → parent (district) → hub supervisor; each step raises 督办.
    "ESCALATION_LADDER": [
        ("handler", envint("HOTLINE_ESCALATE_HANDLER_MIN", "0")),
        ("manager", envint("HOTLINE_ESCALATE_MANAGER_MIN", "60")),
        ("parent", envint("HOTLINE_ESCALATE_PARENT_MIN", "240")),
        ("hub", envint("HOTLINE_ESCALATE_HUB_MIN", "1440")),
    ],
    # Assessment (domain §6) until a ScoreWeights version exists: composite = 100 × (w1·响应率 +
    # w2·解决率 + w3·满意率), 满意率 = (满意 + k·基本满意) / 有效回访; versions are edited in the admin.
    "SCORE_DEFAULTS": {
        "response": envfloat("HOTLINE_SCORE_W_RESPONSE", "0.1"),
        "resolution": envfloat("HOTLINE_SCORE_W_RESOLUTION", "0.5"),
        "satisfaction": envfloat("HOTLINE_SCORE_W_SATISFACTION", "0.4"),
        "basic_factor": envfloat("HOTLINE_SCORE_K", "0.9"),
        "min_volume": envint("HOTLINE_SCORE_MIN_VOLUME", "10"),
    },
}
