"""Customer accounts: passwords and signing in."""
