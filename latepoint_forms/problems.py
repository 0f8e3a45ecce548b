"""What is wrong with a value, as a code with parameters (SPEC section 11), free of Flask.

The rules (customers/rules.py, custom_fields.py, accounts/service.py) say what they refuse as a
``Problem``: a stable ``code`` that clients can translate themselves (``too_short``), the
parameters (``{"label": "First name", "min": 2}``) and the English sentence as a gettext
message id with ``%(name)s`` placeholders. The request's language is applied at the edge
(``i18n.localise``: the API's envelope, the web forms), never here, so these modules run the
same in a worker, the importer or a test without an app.

``N_`` and ``NP_`` only mark a message id for ``pybabel extract`` (babel.cfg, ``make
messages``); a parameter named in ``TRANSLATED_PARAMETERS`` (a field's label) is itself a
message id, translated with the sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Parameters whose value is itself a message id: a field's English label, the kind of an
# address's area or postal code ("state", "ZIP code": ``customers/rules.py`` marks them).
TRANSLATED_PARAMETERS = frozenset({"label", "kind"})
# The code of a message given as plain text (a module's own sentence, not a rule's Problem).
PLAIN = "invalid"


def N_(message: str) -> str:
    """Marks ``message`` as a message id; it is translated where it is shown."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a singular and plural message id pair (``Problem.plural``)."""
    return singular, plural


@dataclass(frozen=True)
class Problem:
    """One refusal: ``code``, the English ``template`` (a message id), its ``params``.

    ``plural`` (with ``count``): the plural form's message id; ``count`` chooses the form
    (English: the singular for 1) and is the ``%(num)d`` of both."""

    code: str
    template: str
    params: Mapping[str, Any] = field(default_factory=dict)
    plural: str | None = None
    count: int | None = None

    @classmethod
    def plain(cls, message: str) -> Problem:
        """A sentence given as text (translated if it is a message id of the catalogs)."""
        return cls(PLAIN, message)

    @classmethod
    def counted(cls, code: str, forms: tuple[str, str], count: int, **params: Any) -> Problem:
        return cls(code, forms[0], params, plural=forms[1], count=count)

    def parameters(self) -> dict[str, Any]:
        """What a client needs to write the sentence itself (``num`` for a counted one)."""
        values = dict(self.params)
        if self.count is not None:
            values["num"] = self.count
        return values

    def english(self) -> str:
        template = self.template
        if self.plural is not None and self.count != 1:
            template = self.plural
        values = dict(self.params)
        if self.count is not None:
            values["num"] = self.count
        return template % values if values else template

    def __str__(self) -> str:
        return self.english()


def as_problem(value: Problem | str) -> Problem:
    return value if isinstance(value, Problem) else Problem.plain(str(value))
