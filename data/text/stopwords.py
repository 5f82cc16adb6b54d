"""The course's English stop-word list (BBC news notebook) and its removal.

Example:
  remove_stopwords("The cat sat on the mat")   # "cat sat mat"
"""

from __future__ import annotations

from typing import Iterable

STOPWORDS: tuple[str, ...] = (
    "a", "about", "above", "after", "again", "against", "all", "am", "an",
    "and", "any", "are", "as", "at", "be", "because", "been", "before",
    "being", "below", "between", "both", "but", "by", "could", "did", "do",
    "does", "doing", "down", "during", "each", "few", "for", "from",
    "further", "had", "has", "have", "having", "he", "he'd", "he'll", "he's",
    "her", "here", "here's", "hers", "herself", "him", "himself", "his",
    "how", "how's", "i", "i'd", "i'll", "i'm", "i've", "if", "in", "into",
    "is", "it", "it's", "its", "itself", "let's", "me", "more", "most", "my",
    "myself", "nor", "of", "on", "once", "only", "or", "other", "ought",
    "our", "ours", "ourselves", "out", "over", "own", "same", "she", "she'd",
    "she'll", "she's", "should", "so", "some", "such", "than", "that",
    "that's", "the", "their", "theirs", "them", "themselves", "then", "there",
    "there's", "these", "they", "they'd", "they'll", "they're", "they've",
    "this", "those", "through", "to", "too", "under", "until", "up", "very",
    "was", "we", "we'd", "we'll", "we're", "we've", "were", "what", "what's",
    "when", "when's", "where", "where's", "which", "while", "who", "who's",
    "whom", "why", "why's", "with", "would", "you", "you'd", "you'll",
    "you're", "you've", "your", "yours", "yourself", "yourselves",
)
_STOPWORD_SET = frozenset(STOPWORDS)


def remove_stopwords(text: str,
                     stopwords: Iterable[str] | None = None) -> str:
  """Lowercases `text` and drops every whitespace-separated stop word.

  This is the course's `remove_stopwords`: lowercase, `split()`, keep the
  words not in the list, join with single spaces. Punctuation stays attached
  to its word ("dog," is not "dog"), as in the course.

  Args:
    text: one text.
    stopwords: the words to drop (lowercase); None uses `STOPWORDS`.

  Returns:
    The lowercased text without stop words.
  """
  if stopwords is None:
    stop = _STOPWORD_SET
  elif isinstance(stopwords, (set, frozenset)):
    stop = stopwords
  else:
    stop = set(stopwords)
  return " ".join(w for w in text.lower().split() if w not in stop)
