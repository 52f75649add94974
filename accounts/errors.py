class DomainError(Exception):
    """A use case refused: the message is safe to show to staff (already translated lazily)."""

    code = "invalid"

    def __init__(self, message, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
