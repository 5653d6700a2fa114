"""Configuration: every ``CUSTOMER_*`` variable, validated once at start-up."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CUSTOMER_", extra="ignore")

    environment: Literal["development", "production"] = "production"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8003, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # The read model and the health check talk to Postgres directly.
    database_dsn: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:5432/customer_db")
    database_pool_size: int = Field(default=10, ge=1, le=200)

    # The sidecar. daprd (or `dapr run`) sets DAPR_HTTP_PORT for the app.
    dapr_host: str = "127.0.0.1"
    dapr_http_port: int = Field(
        default=3500, validation_alias=AliasChoices("DAPR_HTTP_PORT", "CUSTOMER_DAPR_HTTP_PORT")
    )
    # Sent to the sidecar when its API is protected (dapr's DAPR_API_TOKEN).
    dapr_api_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DAPR_API_TOKEN", "CUSTOMER_DAPR_API_TOKEN")
    )
    dapr_timeout_seconds: float = Field(default=10.0, gt=0)

    state_store: str = "customer-store"
    pubsub: str = "customer-pubsub"
    events_topic: str = "customer-events"

    actor_idle_timeout_seconds: int = Field(default=3600, ge=1)

    @property
    def sidecar_url(self) -> str:
        return f"http://{self.dapr_host}:{self.dapr_http_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
