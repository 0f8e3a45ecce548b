"""Bookings: free start times, reserving a time, cancelling."""
