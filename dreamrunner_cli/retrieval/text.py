"""The tokenizer shared by index building and querying, for every backend (so rankings agree).

Lower-case, Unicode word characters, tokens of 2+ characters, Lucene's 33 English stop words removed (the list
bm25s ships as ``STOPWORDS_EN``), then optionally a Snowball stemmer (PyStemmer, the stemmer bm25s supports):
with ``english`` "waves", "waving" and "waved" all become "wave". Stop words are removed before stemming, as bm25s
does. The tokenizer's name and the stemmer are stored in the index and used again for every query.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

TOKENIZER_NAME = "words2-lower-stopen-v1"
STOPWORDS_EN = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
))
_TOKEN = re.compile(r"\w\w+", re.UNICODE)


def tokenize(text: str, stemmer: str | None = None) -> list[str]:
    """'A man is walking, then running.' → ['man', 'walking', 'running'] (['man', 'walk', 'run'] with 'english')."""
    tokens = [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS_EN]
    return stem_words(stemmer)(tokens) if stemmer else tokens


@functools.lru_cache(maxsize=8)
def stem_words(name: str) -> Callable[[list[str]], list[str]]:
    """A PyStemmer Snowball stemmer by language name ('english'), as a list → list function.

    Raises:
        BackendUnavailable: PyStemmer is not installed.
        UsageError: unknown language.
    """
    from ..errors import BackendUnavailable, UsageError

    try:
        import Stemmer
    except ImportError:
        raise BackendUnavailable("stemming needs PyStemmer, which is not installed",
                                 hint="pip install PyStemmer, or build the index with --stemmer none") from None
    if name not in Stemmer.algorithms():
        raise UsageError(f"unknown stemmer {name!r}", hint=f"choose one of: none, {', '.join(Stemmer.algorithms())}")
    stemmer = Stemmer.Stemmer(name)
    return stemmer.stemWords
