"""Transports: the HTTP view, the websocket consumer, the kernel-API fast path.

Each only translates an admission result into HTTP or websocket answers.
"""
