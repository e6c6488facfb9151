"""Retention policies, legal holds, decisions and worklists (the sweep; not built yet)."""
