"""Settings, read from the environment in one place (:meth:`Settings.from_env`).

| Variable | Default | Meaning |
|---|---|---|
| ``DATABASE_URL`` | ``sqlite:///<instance>/dispatch.db`` | SQLAlchemy URL (SQLite or ``postgresql+psycopg://``) |
| ``REDIS_URL`` | unset | Redis for RQ; unset = background tasks run inline in-process |
| ``SECRET_KEY`` | generated into ``<instance>/secret_key`` | signs tokens, cursors and feedback links |
| ``DISPATCH_INSTANCE_PATH`` | ``./instance`` | where the SQLite file, secret and uploads live |
| ``DISPATCH_UPLOAD_DIR`` | ``<instance>/uploads`` | content-addressed evidence store |
| ``DISPATCH_MAX_UPLOAD_BYTES`` | ``10485760`` | largest accepted attachment |
| ``DISPATCH_MAX_REQUEST_BYTES`` | ``16777216`` | largest accepted request body (413 above) |
| ``DISPATCH_ACCESS_TOKEN_TTL_S`` | ``900`` | access token lifetime |
| ``DISPATCH_REFRESH_TOKEN_TTL_S`` | ``1209600`` | refresh token lifetime (14 days) |
| ``DISPATCH_PASSWORD_HASH`` | ``scrypt`` | werkzeug hash method for passwords |
| ``DISPATCH_TIMEZONE`` | ``Asia/Shanghai`` | local time of the service network (shifts, service days) |
| ``DISPATCH_FALLBACK_RADIUS_KM`` | ``30`` | nearest-point fallback radius for out-of-area jobs |
| ``DISPATCH_SOLVE_TIME_LIMIT_S`` | ``10`` | default route planning time limit |
| ``DISPATCH_AUTH_RATE_LIMIT`` | ``20/60`` | token requests allowed per client per window (count/seconds) |
| ``DISPATCH_LOG_JSON`` | ``1`` in production | JSON log lines with request ids |
| ``DISPATCH_PROXY_HOPS`` | ``0`` | reverse proxies in front that append to X-Forwarded-For (the client address is taken that many hops back; 0 = the TCP peer) |
| ``DISPATCH_FEEDBACK_LINK_BASE`` | ``https://dispatch.example/feedback/`` | where rating links sent to customers point |
| ``DISPATCH_OTP_PHONE_RATE_LIMIT`` | ``5/3600`` | sign-in codes sent per phone number per window |
| ``DISPATCH_OTP_ADDRESS_RATE_LIMIT`` | ``20/3600`` | sign-in codes requested per client address per window |
| ``DISPATCH_OTP_VERIFY_RATE_LIMIT`` | ``10/900`` | wrong sign-in codes per client address per window |
| ``DISPATCH_PUBLIC_RATE_LIMIT`` | ``60/60`` | public look-ups (QR, badge, price list) per client address per window |
| ``DISPATCH_CUSTOMER_TOKEN_TTL_S`` | ``604800`` | customer session lifetime (7 days) |
| ``DISPATCH_FACTORY_QR_KEY`` | derived from ``SECRET_KEY`` | key of the signature printed in units' and badges' QR codes |
| ``DISPATCH_SMS_URL`` | unset | SMS gateway endpoint; unset = messages are only logged |
| ``DISPATCH_SMS_KEY`` | unset | shared key signing requests to the gateway and its delivery receipts |
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_from_instance(instance: Path) -> str:
    """Read the instance secret, creating it (mode 0600) on first use."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _rate(env: Mapping[str, str], name: str, default: tuple[int, int]) -> tuple[int, int]:
    """A ``count/seconds`` rate-limit setting."""
    count, _, window = env.get(name, "").partition("/")
    return (int(count or default[0]), int(window or default[1]))


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    upload_dir: Path
    redis_url: str | None = None
    instance_path: Path = Path("instance")
    max_upload_bytes: int = 10 * 1024 * 1024
    max_request_bytes: int = 16 * 1024 * 1024
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 14 * 24 * 3600
    password_hash_method: str = "scrypt"
    timezone: str = "Asia/Shanghai"
    fallback_radius_km: float = 30.0
    solve_time_limit_s: int = 10
    # Route plans: searches run at once per plan (differently seeded, best kept); more than 1
    # only on a worker with a spare core per search.
    solve_searches: int = 1
    auth_rate_limit: tuple[int, int] = (20, 60)
    # Failed logins per client address, whatever the username (password spraying): 10 per 5 min.
    auth_address_rate_limit: tuple[int, int] = (10, 300)
    log_json: bool = False
    proxy_hops: int = 0
    metrics_port: int | None = None  # /metrics only through the listener on this port (None: any)
    testing: bool = False
    problem_type_base: str = "https://dispatch.example/problems/"
    feedback_link_base: str = "https://dispatch.example/feedback/"
    # The customer channel (issue 21).
    otp_phone_rate_limit: tuple[int, int] = (5, 3600)
    otp_address_rate_limit: tuple[int, int] = (20, 3600)
    otp_verify_rate_limit: tuple[int, int] = (10, 900)
    public_rate_limit: tuple[int, int] = (60, 60)
    customer_token_ttl_s: int = 7 * 24 * 3600
    factory_qr_key: str | None = None
    sms_url: str | None = None
    sms_key: str | None = None
    sms_timeout_s: float = 5.0
    # Outbound webhooks (issue 24): private/loopback receivers only when allowed (tests, on-premises).
    webhook_allow_private_targets: bool = False
    webhook_timeout_s: float = 5.0

    @property
    def qr_key(self) -> str:
        """The factory's QR signing key (its own setting in production; else derived)."""
        return self.factory_qr_key or f"factory-qr:{self.secret_key}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        instance = Path(env.get("DISPATCH_INSTANCE_PATH", "instance")).resolve()
        database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'dispatch.db'}"
        if database_url.startswith("postgres://"):
            database_url = "postgresql+psycopg://" + database_url.removeprefix("postgres://")
        elif database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
        count, _, window = env.get("DISPATCH_AUTH_RATE_LIMIT", "20/60").partition("/")
        failures, _, failure_window = env.get("DISPATCH_AUTH_ADDRESS_RATE_LIMIT", "10/300").partition("/")
        return cls(
            database_url=database_url,
            secret_key=env.get("SECRET_KEY") or _secret_from_instance(instance),
            upload_dir=Path(env.get("DISPATCH_UPLOAD_DIR") or instance / "uploads"),
            redis_url=env.get("REDIS_URL") or None,
            instance_path=instance,
            max_upload_bytes=int(env.get("DISPATCH_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)),
            max_request_bytes=int(env.get("DISPATCH_MAX_REQUEST_BYTES", 16 * 1024 * 1024)),
            access_token_ttl_s=int(env.get("DISPATCH_ACCESS_TOKEN_TTL_S", 900)),
            refresh_token_ttl_s=int(env.get("DISPATCH_REFRESH_TOKEN_TTL_S", 14 * 24 * 3600)),
            password_hash_method=env.get("DISPATCH_PASSWORD_HASH", "scrypt"),
            timezone=env.get("DISPATCH_TIMEZONE", "Asia/Shanghai"),
            fallback_radius_km=float(env.get("DISPATCH_FALLBACK_RADIUS_KM", 30)),
            solve_time_limit_s=int(env.get("DISPATCH_SOLVE_TIME_LIMIT_S", 10)),
            solve_searches=max(1, int(env.get("DISPATCH_SOLVE_SEARCHES", 1))),
            auth_rate_limit=(int(count or 20), int(window or 60)),
            auth_address_rate_limit=(int(failures or 10), int(failure_window or 300)),
            log_json=_flag(env.get("DISPATCH_LOG_JSON"), default=False),
            proxy_hops=int(env.get("DISPATCH_PROXY_HOPS", 0)),
            metrics_port=int(env["DISPATCH_METRICS_PORT"]) if env.get("DISPATCH_METRICS_PORT") else None,
            feedback_link_base=env.get("DISPATCH_FEEDBACK_LINK_BASE", "https://dispatch.example/feedback/"),
            otp_phone_rate_limit=_rate(env, "DISPATCH_OTP_PHONE_RATE_LIMIT", (5, 3600)),
            otp_address_rate_limit=_rate(env, "DISPATCH_OTP_ADDRESS_RATE_LIMIT", (20, 3600)),
            otp_verify_rate_limit=_rate(env, "DISPATCH_OTP_VERIFY_RATE_LIMIT", (10, 900)),
            public_rate_limit=_rate(env, "DISPATCH_PUBLIC_RATE_LIMIT", (60, 60)),
            customer_token_ttl_s=int(env.get("DISPATCH_CUSTOMER_TOKEN_TTL_S", 7 * 24 * 3600)),
            factory_qr_key=env.get("DISPATCH_FACTORY_QR_KEY") or None,
            sms_url=env.get("DISPATCH_SMS_URL") or None,
            sms_key=env.get("DISPATCH_SMS_KEY") or None,
            webhook_allow_private_targets=_flag(env.get("DISPATCH_WEBHOOK_ALLOW_PRIVATE_TARGETS"), default=False),
            webhook_timeout_s=float(env.get("DISPATCH_WEBHOOK_TIMEOUT_S", 5.0)),
        )

    def with_(self, **changes) -> Settings:
        """A copy with some fields changed (tests and the CLI use it)."""
        return replace(self, **changes)
