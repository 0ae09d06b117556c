"""Test helpers of accounts."""

from accounts.services.tokens import create_token


def token_for(user, *, name: str = "test", days: int | None = None) -> str:
    """The key of a new API token of `user` (for `Authorization: Token <key>`)."""
    return create_token(user=user, name=name, days=days)[1]
