"""What a URL pattern serves: one notebook, a folder of notebooks, or an admin-registered row."""
