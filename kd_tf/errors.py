"""Errors a user can fix by changing a flag or a file. Binaries print these as
one line and exit with status 2; anything else is a bug and keeps its
traceback."""


class UserError(Exception):
    pass


class DatasetNotAvailableError(UserError):
    """A dataset is not on disk and cannot be downloaded here."""
