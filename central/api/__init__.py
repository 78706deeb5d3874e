"""HTTP layer (接口层): dependencies and one router per area, after the full-stack FastAPI template."""
