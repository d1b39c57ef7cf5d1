"""qa: question answering with cited passages over a folder of news articles.

    import qa
    qa.build_index("seeds", "index")
    index = qa.load_index("index")
    index.search("Bayraktar drones", k=5)
    print(qa.ask("What has Egypt co-produced with Türkiye?", index))
"""
from importlib import import_module

from .errors import (BuildLockedError, EmptyQueryError, FetchError, FilterError, HistoryError, IndexCorruptError,
                     GenerationError, IndexFolderError, IndexMismatchError, IndexNotFoundError, InputError, InvalidQueryError,
                     QAError, QueryTooLongError, SettingsError, SourceNotFoundError)
from .settings import Settings
from .types import Answer, Article, BuildReport, Passage

# Loaded on first use (PEP 562): `qa --help` and the CLI's argument parsing must not pay for
# numpy, FAISS or torch.
_LAZY = {"ask": "answer", "build_index": "build", "load_index": "index", "Index": "index",
         "save_pages": "web", "add_feed": "web", "poll_feeds": "web", "SaveReport": "web"}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'qa' has no attribute {name!r}")


__all__ = [
    "build_index", "load_index", "ask", "Index", "Settings", "save_pages", "add_feed", "poll_feeds", "SaveReport",
    "Passage", "Answer", "Article", "BuildReport",
    "QAError", "IndexNotFoundError", "IndexMismatchError", "IndexCorruptError", "EmptyQueryError",
    "QueryTooLongError", "BuildLockedError", "SettingsError", "SourceNotFoundError", "FilterError",
    "InputError", "InvalidQueryError", "HistoryError", "IndexFolderError", "FetchError", "GenerationError",
]
