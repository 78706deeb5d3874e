"""Tests of the counter workstation; the folders mirror the packages (tests/domain ↔ counter_app/domain)."""
