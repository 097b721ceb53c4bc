"""Django settings, all read from the environment (see README, "Configuration")."""

from __future__ import annotations

import json
import os

import dj_database_url

from beian.web import config

BASE_DIR = config.home()
SECRET_KEY = config.secret_key()
DEBUG = config.env_bool("BEIAN_DEBUG")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("BEIAN_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("BEIAN_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_htmx",
    "beian.core",
    "beian.accounts",
    "beian.registry",
    "beian.orders",
    "beian.audit",
    "beian.notify",
    "beian.gate",
    "beian.review",
    "beian.offline",
    "beian.lookup",
    "beian.web",
]
AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "beian.web.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "beian.web.urls"
WSGI_APPLICATION = "beian.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "beian.web.context.deployment",
            ],
        },
    },
]


SQLITE_CACHE_MIB = int(os.environ.get("BEIAN_SQLITE_CACHE_MIB", "64"))  # per connection
SQLITE_MMAP_MIB = int(os.environ.get("BEIAN_SQLITE_MMAP_MIB", "2048"))  # address space, shared page cache


def _database() -> dict:
    db = dj_database_url.parse(config.database_url(), conn_max_age=60, conn_health_checks=True)
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db["CONN_MAX_AGE"] = 0 if db["NAME"] == ":memory:" else 60
        db["OPTIONS"] = {
            # WAL lets readers run beside the writer; IMMEDIATE makes a writing transaction take the
            # write lock at BEGIN, so two writers queue on busy_timeout instead of failing on upgrade.
            # A 64 MiB page cache and reads through mmap (SQLite's defaults: 2 MiB, read() into the cache): on
            # the public query a name page's statement costs a quarter less, more on a national-scale database.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            f"PRAGMA cache_size=-{SQLITE_CACHE_MIB * 1024}; PRAGMA mmap_size={SQLITE_MMAP_MIB * 1024 * 1024};",
            "transaction_mode": "IMMEDIATE",
            "timeout": 10,  # busy timeout, seconds
        }
    return db


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [os.path.join(os.path.dirname(__file__), "locale")]
TIME_ZONE = "Asia/Shanghai"  # the bureaus' working day is China's
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = str(BASE_DIR / "static")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Behind HTTPS set BEIAN_SECURE_COOKIES=1: cookies only over TLS, HSTS, and the scheme taken from the TLS-ending
# proxy's X-Forwarded-Proto (nginx: proxy_set_header X-Forwarded-Proto $scheme), without which Django would
# see plain HTTP and refuse every form POST's https Origin.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = config.env_bool("BEIAN_SECURE_COOKIES")
if SESSION_COOKIE_SECURE:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("BEIAN_HSTS_SECONDS", "31536000"))
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# The deployment's own filing number, shown in every page's footer when set (linked to beian.miit.gov.cn).
BEIAN_SITE_FILING_NUMBER = os.environ.get("BEIAN_SITE_FILING_NUMBER", "")
BEIAN_DEMO = config.env_bool("BEIAN_DEMO")

# How a cancellation is confirmed: "password" (备案密码, the seed's flow) or "sms" (MIIT's check since 2020-08-17).
BEIAN_CANCELLATION_VERIFICATION = os.environ.get("BEIAN_CANCELLATION_VERIFICATION", "password")
if BEIAN_CANCELLATION_VERIFICATION not in {"password", "sms"}:
    raise ValueError("BEIAN_CANCELLATION_VERIFICATION must be 'password' or 'sms'")
# 取消接入 is decided by the provider alone unless this is set (the bureau's role is UNCONFIRMED).
BEIAN_CANCEL_ACCESS_NEEDS_BUREAU = config.env_bool("BEIAN_CANCEL_ACCESS_NEEDS_BUREAU")
# Typical bureau review time in working days: {"44": 5, "*": 10}; empty: the rules' default (10).
BEIAN_BUREAU_REVIEW_DAYS = json.loads(os.environ.get("BEIAN_BUREAU_REVIEW_DAYS") or "{}")
# Orders untouched this many days expire (reminders on the days listed), Alibaba doc 157772.
BEIAN_ORDER_EXPIRY_DAYS = int(os.environ.get("BEIAN_ORDER_EXPIRY_DAYS", "45"))
BEIAN_ORDER_REMINDER_DAYS = (30, 40)

# Mail: the development default writes each message to a file under $BEIAN_HOME/mail; set
# BEIAN_EMAIL_BACKEND=smtp with EMAIL_HOST etc. (Django's names) for real delivery.
_mail = os.environ.get("BEIAN_EMAIL_BACKEND", "file")
EMAIL_BACKEND = {
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "memory": "django.core.mail.backends.locmem.EmailBackend",
}[_mail]
EMAIL_FILE_PATH = str(BASE_DIR / "mail")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = config.env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("BEIAN_FROM_EMAIL", "beian@localhost")
# Public query: per-IP token bucket (per worker process) and CORS for GET.
BEIAN_PUBLIC_RATE = float(os.environ.get("BEIAN_PUBLIC_RATE", "10"))  # requests per second
BEIAN_PUBLIC_BURST = int(os.environ.get("BEIAN_PUBLIC_BURST", "100"))
BEIAN_PUBLIC_CORS_ORIGINS = [
    o.strip() for o in os.environ.get("BEIAN_PUBLIC_CORS_ORIGINS", "").split(",") if o.strip()
]
BEIAN_BASE_URL = os.environ.get("BEIAN_BASE_URL", "http://127.0.0.1:8000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("BEIAN_LOG_LEVEL", "WARNING")},
}
