"""Named errors. The CLI turns each into a one-line message and a non-zero exit."""


class QAError(Exception):
    """Base class of every error the library raises on purpose."""


class IndexNotFoundError(QAError):
    """No index at the given folder."""


class IndexMismatchError(QAError):
    """The index was built with another model or other chunk settings."""


class IndexCorruptError(QAError):
    """An index file is missing, truncated, altered or not ours."""


class InputError(QAError, ValueError):
    """Bad input to a search or a question (query, k, mode, filters, history): refused before
    any work, with a message naming the bad value and what is accepted."""


class EmptyQueryError(InputError):
    """The query is empty or only white space."""


class QueryTooLongError(InputError):
    """The query exceeds the configured length limit."""


class InvalidQueryError(InputError):
    """The query is not text, or holds characters that are not text (lone surrogates, which is
    what Python makes of undecodable bytes on a command line)."""


class HistoryError(InputError):
    """The conversation history is not a list of (question, answer) pairs of text."""


class BuildLockedError(QAError):
    """Another build of the same index is running."""


class SettingsError(QAError):
    """An unknown or invalid setting."""


class SourceNotFoundError(QAError):
    """The source folder of a build does not exist."""


class FilterError(InputError):
    """A search option out of range or of the wrong kind: k, the search mode, a filter key or value."""


class IndexFolderError(QAError):
    """The index folder holds files that are not a qa index: a build will not write there."""


class FetchError(QAError):
    """A page or feed could not be fetched: refused address, HTTP error, timeout, size or type
    limit. The message names the URL and the reason on one line."""


class GenerationError(QAError):
    """The language model endpoint failed, timed out or replied with something that is not a
    chat completion: the answer falls back to the extractive one, saying why."""
