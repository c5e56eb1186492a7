"""How accounts and tokens look in the public API."""

from __future__ import annotations

from pydantic import BaseModel, EmailStr, Field

from mp3converter.services.passwords import MIN_PASSWORD_LENGTH


class TokenResponse(BaseModel):
    """An access token for `Authorization: Bearer`."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class NewUser(BaseModel):
    """Credentials of an account to create."""

    email: EmailStr
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)


class UserOut(BaseModel):
    """A user as the API shows it (never the password hash)."""

    user_id: str
    email: str
    is_admin: bool
