"""Named errors. The CLI turns each into a one-line message and a non-zero exit."""


class QAError(Exception):
    """Base class of every error the library raises on purpose."""


class IndexNotFoundError(QAError):
    """No index at the given folder."""


class IndexMismatchError(QAError):
    """The index was built with another model or other chunk settings."""


class IndexCorruptError(QAError):
    """An index file is missing, truncated, altered or not ours."""


class EmptyQueryError(QAError):
    """The query is empty or only white space."""


class QueryTooLongError(QAError):
    """The query exceeds the configured length limit."""


class BuildLockedError(QAError):
    """Another build of the same index is running."""


class SettingsError(QAError):
    """An unknown or invalid setting."""


class SourceNotFoundError(QAError):
    """The source folder of a build does not exist."""


class FilterError(QAError, ValueError):
    """An unknown search mode, filter key or filter value."""
