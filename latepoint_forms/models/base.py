"""The class every model subclasses: Flask-SQLAlchemy's ``db.Model``, typed as our ``Base``.

``db.Model`` is built at run time from ``extensions.Base`` (its metadata, naming convention and
registry) plus Flask-SQLAlchemy's mixins, and a type checker cannot follow a class made that
way: ``class Customer(db.Model)`` is "not defined" to mypy and every model would be ``Any``.
Checking the models against ``Base`` gives them their real SQLAlchemy 2.0 types; the only
things ``db.Model`` adds are the legacy ``Model.query`` property and ``__fsa__``, which this
project does not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..extensions import db

if TYPE_CHECKING:
    from ..extensions import Base as Model
else:
    Model = db.Model

__all__ = ["Model"]
