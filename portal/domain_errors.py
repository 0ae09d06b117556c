"""Errors that services raise; views and the API translate them to messages and HTTP codes."""


class DomainError(Exception):
    """A rule of the domain refused the action; the message tells the user how to fix it.

    `field` names the form or API field the error belongs to, when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class ConflictError(DomainError):
    """The object changed state under us (another admin decided first): HTTP 409."""
