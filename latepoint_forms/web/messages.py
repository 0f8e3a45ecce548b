"""What the forms say about an email address that is already on file: one wording, one home.

An account holder is offered the sign-in. A record without a password (a guest who booked, a
customer the business or an integration added) cannot be signed in to, and we cannot hand it
to whoever types the address, so that message promises no way in and tells what to do instead.
"""

from __future__ import annotations

EMAIL_REGISTERED = "This email address is already registered. Sign in to use your account."
EMAIL_KNOWN = "This email is already registered. Sign in to book with your account."


def email_on_file(action: str) -> str:
    """For a passwordless record; ``action`` is what the person was doing ("book", "register")."""
    return (
        "We already have this email address on file, without a password to sign in with. "
        f"To keep that record private we can't use it here: please {action} with another "
        "email address, or contact us."
    )


EMAIL_ON_FILE_BOOKING = email_on_file("book")
EMAIL_ON_FILE_REGISTRATION = email_on_file("register")
