"""Pelican plugin: FAQPage JSON-LD made from the FAQ page's own Markdown.

Each ``## heading`` of a page with ``Template: faq`` is a question; what follows it, up to the
next heading, is the answer. The template writes ``page.faq_schema`` out as JSON, so the page
and its structured data can never disagree.
"""

from __future__ import annotations

import re

from markupsafe import Markup
from pelican import signals

_QUESTION = re.compile(r"<h2[^>]*>(.*?)</h2>", re.S)


def faq_schema(html: str) -> dict[str, object]:
    parts = _QUESTION.split(html)[1:]  # [question, answer, question, answer, ...]
    return {
        "@context": "https://schema.org",
        "@type": "FAQPage",
        "mainEntity": [
            {
                "@type": "Question",
                "name": Markup(question).striptags(),
                "acceptedAnswer": {"@type": "Answer", "text": Markup(answer).striptags()},
            }
            for question, answer in zip(parts[::2], parts[1::2], strict=True)
        ],
    }


def _attach(content: object) -> None:
    if getattr(content, "template", None) == "faq":
        content.faq_schema = faq_schema(content.content)  # type: ignore[attr-defined]


def register() -> None:
    signals.content_object_init.connect(_attach)
