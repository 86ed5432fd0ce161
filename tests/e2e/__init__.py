"""Browser end-to-end tests (pytest marker e2e)."""
