"""The one base for refusals a user can read, shared by every domain's operations and rules.

Operations raise a subclass of :class:`UserError` with a message written for the
person who asked (translated where it is made). Views may catch it to show the
message in place; otherwise ``lms.errors`` renders it centrally: the request's
transaction is rolled back, pages flash the message and send the user back to
where they came from, and the API answers an RFC 9457 problem document.
This module imports nothing, so pure rule modules can use it too.
"""

from __future__ import annotations


class UserError(Exception):
    """A request that cannot be carried out; ``message`` says why, for the person who asked."""

    #: The HTTP status the API answers when nothing catches the error earlier.
    status = 422

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(UserError):
    """The actor may not do this."""

    status = 403
