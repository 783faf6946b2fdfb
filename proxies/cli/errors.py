"""The one exception the pool's commands raise for a person to read."""


class CliError(Exception):
    """A user or operating error: the message says what failed and what to do."""
