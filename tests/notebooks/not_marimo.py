"""A plain Python script: not a marimo notebook."""

print("hello")
