"""When a corpus gets the multilingual companion's vectors (qa/multilingual.py), and which of
its articles are cut into chunks by the companion's tokenizer. qa.build writes the vectors."""
from __future__ import annotations

from .cleaning import SCRIPT_LANGUAGES
from .embedder import model_languages
from .settings import Settings

# Languages told apart by script (qa.cleaning.detect_language) are certain; Latin-script ones
# are a stopword guess on each article (an English piece quoting German song titles reads as
# German), so alone they earn multilingual vectors only as a real share of the corpus.
LATIN_SHARE = 0.05

# Version of the rule choosing each article's tokenizer for chunk sizes (manifest
# "chunk_counting"); an index of an older rule has its companion-language articles cut again.
# 2: articles in a script language the main model does not cover are counted by the companion
# (MiniLM spends ~4.7 word pieces on an Arabic word: its count cut them a third of the size).
CHUNK_COUNTING = 2


def needs_companion(settings: Settings, languages: dict) -> bool:
    """languages: article count per detected language."""
    covered = _covered(settings)
    if covered is None:
        return False
    if settings.multilingual == "always":
        return True
    total = sum(languages.values()) or 1
    return any(lang not in covered and lang != "und"
               and (lang in SCRIPT_LANGUAGES or n / total >= LATIN_SHARE)
               for lang, n in languages.items())


def _covered(settings: Settings) -> set[str] | None:
    """The languages the main model covers, or None where no companion is wanted (the main
    model covers every language, or Settings.multilingual is "never")."""
    covered = model_languages(settings.model, settings.model_languages)
    return None if "*" in covered or settings.multilingual == "never" else set(covered)


def companion_missing(old_manifest: dict, settings: Settings) -> bool:
    """An index without multilingual vectors that should have them (built with `never`, or
    where the model could not load) and can get them now: a build adds them though no article
    changed."""
    if old_manifest.get("companion") or not needs_companion(settings, old_manifest["counts"].get("languages", {})):
        return False
    from . import multilingual

    return multilingual.load() is not None


def companion_languages(settings: Settings) -> tuple[str, ...]:
    """The languages whose articles are chunked by the companion's tokenizer: those told apart
    by script that the main model does not cover (one article of them earns the corpus
    companion vectors, which then represent it), where the companion can run."""
    from .multilingual import installed

    covered = _covered(settings)
    if covered is None or not installed():
        return ()
    return tuple(sorted(SCRIPT_LANGUAGES - covered))


def stale_chunking(old_manifest: dict | None, settings: Settings) -> tuple[str, ...]:
    """The languages whose stored articles an older chunk-counting rule cut: to read again."""
    if not old_manifest or old_manifest.get("chunk_counting", 1) >= CHUNK_COUNTING:
        return ()
    return companion_languages(settings)
