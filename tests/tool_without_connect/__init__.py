"""A tool package whose tool.py declares its tools but cannot wire them (no connect()): the system check's example."""
