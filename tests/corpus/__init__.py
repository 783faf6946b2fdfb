"""A corpus of real web pages (trimmed copies of public static sites) and its loopback server."""
