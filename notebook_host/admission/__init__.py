"""Who may drive a kernel: decided here only.

The one pipeline (pipeline.py) composes access, origin, params, ownership and
limits in one order for page, API call, download and socket.
"""
