"""``{% notebook %}``'s parts: its options, its decision, the frame it renders.

The template tag itself (``notebook_host/templatetags/notebook_host.py``)
only parses and resolves; see docs/embedding.md.
"""
