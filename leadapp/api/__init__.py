"""The JSON API (``/api/v1``) for scripts and CRMs, authenticated by API tokens."""
