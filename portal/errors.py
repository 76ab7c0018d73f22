class DomainError(Exception):
    """A rule of the portal was not met; the message is meant for the user."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
