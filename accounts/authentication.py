"""DRF authentication by personal API token: `Authorization: Token <key>` (or `Bearer <key>`)."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .services.tokens import authenticate_key


class ApiTokenAuthentication(BaseAuthentication):
    keywords = (b"token", b"bearer")

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the header as 'Authorization: Token <key>' with no spaces in the key."
            )
        try:
            key = parts[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        token, why = authenticate_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed(why)
        request.api_token = token
        return token.user, token

    def authenticate_header(self, request):
        return "Token"
