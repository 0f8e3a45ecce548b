"""What the forms say about an email address that is already on file: one wording, one home.

An account holder is offered the sign-in. A record without a password (a guest who booked, a
customer the business or an integration added) cannot be signed in to, and we cannot hand it
to whoever types the address, so that message promises no way in and tells what to do instead.

Each is a message id (``N_``): the view shows it with ``_()``, in the page's language.
"""

from __future__ import annotations

from ..problems import N_

# The field message; the page puts the way in right after it, as a link ("Sign in to use your
# account."), so the sentence is said once and its action is the link itself.
EMAIL_REGISTERED = N_("This email address is already registered.")

# For a passwordless record, by what the person was doing: whole sentences, for translators.
_EMAIL_ON_FILE = {
    "book": N_(
        "We already have this email address on file, without a password to sign in with. "
        "To keep that record private we can't use it here: please book with another "
        "email address, or contact us."
    ),
    "register": N_(
        "We already have this email address on file, without a password to sign in with. "
        "To keep that record private we can't use it here: please register with another "
        "email address, or contact us."
    ),
}


def email_on_file(action: str) -> str:
    """For a passwordless record; ``action`` is what the person was doing ("book", "register")."""
    if action in _EMAIL_ON_FILE:
        return _EMAIL_ON_FILE[action]
    return (
        "We already have this email address on file, without a password to sign in with. "
        f"To keep that record private we can't use it here: please {action} with another "
        "email address, or contact us."
    )


EMAIL_ON_FILE_REGISTRATION = email_on_file("register")

# The "confirm your changes" link (web/changes.py).
CHANGES_LINK_INVALID = N_(
    "This link is not valid any more: it has been used, or it has expired (links work for "
    "7 days), or a newer one was sent. Your details are as they were."
)
CHANGES_NOT_APPLIED = N_(
    "These changes could not be made, so your details are as they were. You can make them in "
    "your account, or type them again when you next book."
)
