"""Query parameters a notebook declares.

Declarations, the Form/Pydantic adapters, and the gate on page and socket.
"""
