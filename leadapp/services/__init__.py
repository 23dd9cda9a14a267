"""Use cases: domain rules applied to the database. Services flush; callers commit."""
