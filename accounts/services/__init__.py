"""Writes of accounts, by topic: tokens.py (API tokens), signin.py (throttling and lockout),
oidc.py (identity-provider users and their roles)."""
