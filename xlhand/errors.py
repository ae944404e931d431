"""The one error type a user sees: a one-line message and exit code 2."""


class XlhandError(Exception):
    """Bad input from a user (file, key, value). The CLI prints it on one line and exits 2."""
