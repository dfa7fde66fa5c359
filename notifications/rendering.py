"""Messages from templates: a subject, a plain-text body and an HTML body per language.

A template is a folder of ``templates/<name>/``: ``subject.<lang>.txt``, ``body.<lang>.txt``
and ``body.<lang>.html`` (which extends ``_layout.html``, the accessible frame naming the
place and its contact). The plain text gets the same footer from ``_footer.<lang>.txt``.
Undefined names are errors: a message missing a value fails where it is queued, not in an
inbox.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifications.wording import language_of

TEMPLATES = Path(__file__).parent / "templates"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Rendered:
    """A message's three parts, ready to store."""

    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The templates' environment (HTML escaped, text not)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def exists(template: str) -> bool:
    """Whether a template of this name is installed."""
    return _safe_name(template) and (TEMPLATES / template).is_dir()


def _safe_name(template: str) -> bool:
    return bool(re.fullmatch(r"[a-z0-9_]+", template))


def render(template: str, language: str, context: Mapping[str, Any]) -> Rendered:
    """The message ``template`` in ``language`` (see :func:`language_of`) with ``context``."""
    if not exists(template):
        raise LookupError(f"no message template named {template!r}")
    lang = language_of(language)
    values = {**context, "language": lang}
    env = environment()
    subject = env.get_template(f"{template}/subject.{lang}.txt").render(values)
    body = env.get_template(f"{template}/body.{lang}.txt").render(values).strip()
    footer = env.get_template(f"_footer.{lang}.txt").render(values).strip()
    html = env.get_template(f"{template}/body.{lang}.html").render(values)
    # A subject is one header line.
    return Rendered(
        subject=_SPACES.sub(" ", subject).strip(),
        text=f"{body}\n\n-- \n{footer}\n" if footer else f"{body}\n",
        html=html,
    )
