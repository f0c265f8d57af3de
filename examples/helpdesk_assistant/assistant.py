"""Northwind's IT-helpdesk assistant: answers employee questions from the IT knowledge base.

The system under test of evalkit's demo workspace. It is deliberately simple and fully
deterministic: BM25 over the sections of the Markdown documents in ``kb/``, then an
extractive answer built from the best sections, citing ``[KB-xxx]``. Routing (category)
comes from the best document, priority from the document plus urgency words in the
question. It has the failure modes of a real retrieval assistant: it only knows what the
KB says, and a document-based router can send an incident to the wrong queue.

It does not import evalkit: the harness calls ``answer(case)`` with anything that has
``vars`` (and optionally ``messages``), and reads the returned dict.

    python examples/helpdesk_assistant/assistant.py "How do I reset my password?"
"""

# No `from __future__ import annotations`: evalkit may load this file without registering
# it in sys.modules, and dataclasses cannot resolve string annotations then.

import json
import math
import re
import sys
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

KB_DIR = Path(__file__).resolve().parent / "kb"

# BM25 parameters: the usual defaults; sections are short, so length normalisation is mild.
K1 = 1.2
B = 0.75
# Below this top score the question shares too little with the KB to answer from it.
# Set from a handful of out-of-scope questions (meeting rooms, parental leave, ...).
MIN_SCORE = 4.0
# Another section is added to the answer when it scores at least this fraction of the best.
SAME_DOC_RATIO = 0.75
SEE_ALSO_RATIO = 0.8
CONTEXT_SIZE = 3

CATEGORIES = ("access", "hardware", "software", "security", "network", "policy")
FALLBACK = (
    "I couldn't find this in the IT knowledge base. Please open a ticket in the IT portal "
    "or call the helpdesk on extension 2000."
)

_STOPWORD_TEXT = """a about after again all also am an and any are as at be been before being but by
    can could did do does doing for from get got had has have having he her here hi him his
    how i if in into is it its just me might more most my myself need needs no not now of
    off on once only or other our out over own please same she should so some such than
    thank thanks that the their them then there these they this those through to too under
    until up us very want was we were what when where which while who why will with would
    you your yours"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Words employees use that the KB spells differently. Expansions are added to the query.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "computer": ("laptop",),
    "pc": ("laptop",),
    "notebook": ("laptop",),
    "macbook": ("laptop",),
    "2fa": ("mfa", "okta", "verify"),
    "authenticator": ("okta", "verify"),
    "mfa": ("okta", "verify"),
    "login": ("sign",),
    "logon": ("sign",),
    "wireless": ("wifi",),
    "internet": ("wifi",),
    "app": ("software",),
    "application": ("software",),
    "program": ("software",),
    "install": ("software",),
    "scam": ("phishing", "suspicious"),
    "spam": ("suspicious",),
    "mail": ("email",),
    "printer": ("print",),
    "screen": ("monitor",),
    "stole": ("stolen",),
    "steal": ("stolen",),
    "visit": ("visitor", "guest"),
}

# Words in a question that make a ticket urgent whatever the document says.
URGENT = re.compile(
    r"\b(clicked|stolen|lost|hacked|compromised|ransom\w*|locked out|urgent|asap|"
    r"right now|immediately|entered my (password|credentials)|whole team|outage)\b",
    re.IGNORECASE,
)
CITATION = re.compile(r"\[(KB-\d{3})\]")


class CaseLike(Protocol):
    """What the assistant reads from an evalkit case."""

    vars: dict[str, Any]
    messages: list[Any] | None


@dataclass(frozen=True, slots=True)
class Document:
    """One knowledge-base article."""

    id: str
    title: str
    category: str
    priority: str
    path: Path


@dataclass(frozen=True, slots=True)
class Passage:
    """One retrievable unit: a document's introduction or one of its sections."""

    doc: Document
    heading: str
    text: str
    terms: Counter[str]
    length: int


def _stem(word: str) -> str:
    """A light suffix stripper: enough to match 'printing'/'print' and 'laptops'/'laptop'."""
    if len(word) > 5 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed") and not word.endswith("eed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-case, split on non-word characters, join hyphenated words, drop stopwords, stem."""
    words = re.findall(r"[a-z0-9]+(?:[-'][a-z0-9]+)*", text.lower())
    tokens: list[str] = []
    for raw in words:
        word = raw.replace("-", "").replace("'", "")
        if word in STOPWORDS or raw in STOPWORDS:
            continue
        tokens.append(_stem(word))
        # "Wi-Fi" is one word ("wifi"), "home-office" is two: keep both readings.
        if "-" in raw:
            tokens.extend(_stem(part) for part in raw.split("-") if part not in STOPWORDS)
    return tokens


def _query_terms(question: str) -> list[str]:
    terms = tokenize(question)
    expanded = list(terms)
    for term in terms:
        expanded.extend(_stem(s) for s in SYNONYMS.get(term, ()))
    return expanded


def _parse_document(path: Path) -> tuple[Document, list[tuple[str, str]]]:
    """Split a KB file into its front matter and (heading, text) sections."""
    text = path.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n(.*)", text, re.DOTALL)
    if match is None:
        raise ValueError(f"{path}: missing front matter (--- id/title/category/priority ---)")
    meta: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        meta[key.strip()] = value.strip()
    if meta.get("category") not in CATEGORIES:
        raise ValueError(f"{path}: category must be one of {', '.join(CATEGORIES)}")
    doc = Document(
        id=meta["id"],
        title=meta["title"],
        category=meta["category"],
        priority=meta.get("priority", "normal"),
        path=path,
    )
    sections: list[tuple[str, str]] = []
    heading: str = doc.title
    lines: list[str] = []
    for line in match.group(2).splitlines():
        if line.startswith("## "):
            sections.append((heading, " ".join(lines).strip()))
            heading, lines = line[3:].strip(), []
        elif line.strip():
            lines.append(line.strip())
    sections.append((heading, " ".join(lines).strip()))
    return doc, [(h, t) for h, t in sections if t]


class Index:
    """A BM25 index over every section of the knowledge base."""

    def __init__(self, kb_dir: Path) -> None:
        self.documents: dict[str, Document] = {}
        self.passages: list[Passage] = []
        for path in sorted(kb_dir.glob("KB-*.md")):
            doc, sections = _parse_document(path)
            if doc.id in self.documents:
                raise ValueError(f"{path}: duplicate KB id {doc.id}")
            self.documents[doc.id] = doc
            for heading, text in sections:
                # The title and heading are indexed with the text: they name the topic.
                # (An introduction's heading is the title: index it once, not twice.)
                named = doc.title if heading == doc.title else f"{doc.title} {heading}"
                terms = tokenize(f"{named} {text}")
                self.passages.append(Passage(doc, heading, text, Counter(terms), len(terms)))
        if not self.passages:
            raise ValueError(f"no KB-*.md documents in {kb_dir}")
        count = len(self.passages)
        self.avg_length = sum(p.length for p in self.passages) / count
        frequency: Counter[str] = Counter()
        for passage in self.passages:
            frequency.update(passage.terms.keys())
        self.idf = {
            term: math.log(1 + (count - n + 0.5) / (n + 0.5)) for term, n in frequency.items()
        }

    def search(self, question: str) -> list[tuple[float, Passage]]:
        """Passages by descending BM25 score (ties in KB order), zero scores left out."""
        terms = _query_terms(question)
        ranked: list[tuple[float, Passage]] = []
        for passage in self.passages:
            score = 0.0
            norm = K1 * (1 - B + B * passage.length / self.avg_length)
            for term in terms:
                tf = passage.terms.get(term, 0)
                if tf:
                    score += self.idf[term] * tf * (K1 + 1) / (tf + norm)
            if score > 0:
                ranked.append((score, passage))
        ranked.sort(key=lambda item: -item[0])  # stable: equal scores keep KB order
        return ranked


@lru_cache(maxsize=4)
def load_index(kb_dir: Path = KB_DIR) -> Index:
    """The index of `kb_dir`, built once per process."""
    return Index(kb_dir)


def _question(case: CaseLike) -> str:
    question = case.vars.get("question")
    if isinstance(question, str) and question.strip():
        return question
    for message in reversed(case.messages or []):
        role = message.get("role") if isinstance(message, dict) else message.role
        if role == "user":
            content = message.get("content") if isinstance(message, dict) else message.content
            return str(content)
    raise ValueError("the case has no `question` var and no user message")


def respond(question: str, *, kb_dir: Path = KB_DIR) -> dict[str, Any]:
    """Answer one question: answer text, routing, sources and the retrieved passages."""
    index = load_index(kb_dir)
    ranked = index.search(question)
    context = [f"[{p.doc.id}] {p.heading}: {p.text}" for _, p in ranked[:CONTEXT_SIZE]]
    retrieval = [
        {"doc": p.doc.id, "section": p.heading, "score": round(s, 3)}
        for s, p in ranked[:CONTEXT_SIZE]
    ]
    urgent = URGENT.search(question) is not None
    if not ranked or ranked[0][0] < MIN_SCORE:
        return {
            "answer": FALLBACK,
            "category": ranked[0][1].doc.category if ranked else "policy",
            "priority": "high" if urgent else "normal",
            "sources": [],
            "context": context,
            "retrieval": retrieval,
        }
    best_score, best = ranked[0]
    parts = [best.text]
    sources = [best.doc.id]
    # A second section of the same article often completes the answer (how + what then).
    for score, passage in ranked[1:CONTEXT_SIZE]:
        if passage.doc.id == best.doc.id and score >= SAME_DOC_RATIO * best_score:
            parts.append(passage.text)
            break
    answer = " ".join(parts) + f" [{best.doc.id}]"
    for score, passage in ranked[1:CONTEXT_SIZE]:
        if passage.doc.id not in sources and score >= SEE_ALSO_RATIO * best_score:
            answer += f" See also: {passage.doc.title} [{passage.doc.id}]."
            sources.append(passage.doc.id)
            break
    return {
        "answer": answer,
        "category": best.doc.category,
        "priority": "high" if urgent else best.doc.priority,
        "sources": sources,
        "context": context,
        "retrieval": retrieval,
    }


def answer(case: CaseLike) -> dict[str, Any]:
    """evalkit's python-target entry point.

    Returns ``{"output": ..., "context": [...], "sources": [...], "retrieval": [...]}``;
    the output is a JSON object (category, priority, answer, sources) when the case var
    ``format`` is ``json``, else the plain answer text.
    """
    result = respond(_question(case))
    if case.vars.get("format") == "json":
        output: Any = {
            "category": result["category"],
            "priority": result["priority"],
            "answer": result["answer"],
            "sources": result["sources"],
        }
    else:
        output = result["answer"]
    return {
        "output": output,
        "context": result["context"],
        "sources": result["sources"],
        "retrieval": result["retrieval"],
    }


def main(argv: list[str]) -> int:
    """Answer questions given on the command line, as JSON."""
    if not argv:
        print(__doc__)
        return 2
    for question in argv:
        print(json.dumps({"question": question, **respond(question)}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
