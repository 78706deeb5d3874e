"""The test harness: starts, waits for and stops the real services the tests need.

One mechanism serves both ``make test`` (``python -m tests.harness run -- pytest``, which starts every
service before pytest and stops each after, also on failure) and a developer running one test file
(the fixtures in tests/conftest.py start a missing service for that session). A later issue adds its
service as one `Service` subclass in `services.py` plus its entry in `SERVICES`.
"""
