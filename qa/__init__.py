"""qa: question answering with cited passages over a folder of news articles.

    import qa
    qa.build_index("seeds", "index")
    index = qa.load_index("index")
    index.search("Bayraktar drones", k=5)
    print(qa.ask("What has Egypt co-produced with Türkiye?", index))
"""
from .answer import ask
from .build import build_index
from .errors import (BuildLockedError, EmptyQueryError, FilterError, IndexCorruptError, IndexMismatchError,
                     IndexNotFoundError, QAError, QueryTooLongError, SettingsError, SourceNotFoundError)
from .index import Index, load_index
from .settings import Settings
from .types import Answer, Article, BuildReport, Passage

__all__ = [
    "build_index", "load_index", "ask", "Index", "Settings",
    "Passage", "Answer", "Article", "BuildReport",
    "QAError", "IndexNotFoundError", "IndexMismatchError", "IndexCorruptError", "EmptyQueryError",
    "QueryTooLongError", "BuildLockedError", "SettingsError", "SourceNotFoundError", "FilterError",
]
