"""The tokenizer shared by index building and querying, for every backend (so rankings agree).

Lower-case, Unicode word characters, tokens of 2+ characters, Lucene's 33 English stop words removed (the list
bm25s ships as ``STOPWORDS_EN``). No stemming: "walks" and "walking" are different tokens. Present-progressive
motion descriptions ("walking") match present-progressive captions ("a man is walking"), which is how most
public caption sets are written. The tokenizer's name is stored in the index and checked when it is opened.
"""

from __future__ import annotations

import re

TOKENIZER_NAME = "words2-lower-stopen-v1"
STOPWORDS_EN = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
))
_TOKEN = re.compile(r"\w\w+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """'A man is walking, then running.' → ['man', 'walking', 'running']."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS_EN]
