"""A host shop's own journey tool, outside the journey package (what docs/architecture.md's "how to add a tool"
describes): a points program with a job, a task, a page, a setting, a receiver and a tool on the map.  Only the
settings modules of the switch-off test name it in JOURNEY["TOOLS"]."""
