"""Errors a user can fix by changing a flag or a file. Binaries print these as
one message and exit non-zero; anything else is a bug and keeps its traceback."""


class UserError(Exception):
    pass
