"""Configuration read from environment variables (prefix ``MUTUALAB_``) and an optional ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("var") / "mutualab.sqlite3"


class Settings(BaseSettings):
    """Every knob of the service; defaults give a working local instance on SQLite."""

    model_config = SettingsConfigDict(
        env_prefix="MUTUALAB_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_echo: bool = False
    # Temporary protection of catalogue writes until accounts and roles exist (issue 3).
    admin_token: SecretStr | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    instance_slug: str = Field(
        default="local",
        pattern=r"^[a-z0-9][a-z0-9-]{0,39}$",
        description="Short name of this instance, part of open-data identifiers.",
    )
    debug: bool = False

    @property
    def is_sqlite(self) -> bool:
        """Whether the configured database is the embedded SQLite."""
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once."""
    return Settings()
