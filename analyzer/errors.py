"""The error the tool raises in its own words, worded when it is shown (the command line's ``--lang``).

Intake (:class:`~analyzer.intake.IntakeError`), output paths, stored reports, the options of an analysis and the
batch raise it or a subclass: ``message`` is a ``messages`` key of the locale files and its parameters (a path,
a limit, a library's error text as it is); ``str()`` is that sentence in English, for logs and tracebacks.
"""

from __future__ import annotations

from analyzer.locale import word
from parsers.base import Message, say


class MessageError(Exception):
    """An error whose ``message`` is worded at render time; a text from outside (a library's error) passed as a
    plain string is kept as it is (the ``verbatim`` message)."""

    def __init__(self, message: Message | str) -> None:
        super().__init__(message)
        self.message = message if isinstance(message, Message) else say("verbatim", text=message)

    def __str__(self) -> str:
        return word(self.message)


def message_of(exc: BaseException) -> Message:
    """What an error says, as a message: the tool's own words of a :class:`MessageError`, else the exception's
    text as it is (an ``OSError`` by its ``strerror``)."""
    if isinstance(exc, MessageError):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        return say("verbatim", text=exc.strerror)
    return say("verbatim", text=str(exc))
