"""The one exception type for a user's bad data."""


class DataError(ValueError):
  """Bad input data: the message names the file, line or value and the fix.

  Binaries catch it and print its message as a single line, without a
  traceback, because it describes the user's input, not a bug.
  """
