"""Running a plan: trial expansion, the session, the async runner, resume, adaptive concurrency."""
