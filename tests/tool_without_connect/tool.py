def register_all(registry):
    """Declares nothing; the package has no connect()."""
