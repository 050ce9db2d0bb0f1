"""Plain Python, not a notebook."""

print("plain")
