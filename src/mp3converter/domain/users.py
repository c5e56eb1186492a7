"""Users of the platform."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

MIN_PASSWORD_LENGTH = 8


def normalize_email(email: str) -> str:
    """Emails are unique regardless of case and surrounding spaces."""
    return email.strip().lower()


class User(BaseModel):
    """An account that can log in and own jobs."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    email: str
    password_hash: str
    is_admin: bool
    created_at: datetime
    disabled: bool = False
