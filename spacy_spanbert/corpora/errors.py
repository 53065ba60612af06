"""The one error every corpus reader raises for input it can't read."""


class CorpusFormatError(ValueError):
    """A line of a corpus file can't be read; the message names file and line."""
