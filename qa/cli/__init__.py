"""The ``qa`` command: a thin shell over the Python API (options, display, the chat, the
HTML report, the resident process behind one-shot asks).

May import anything; nothing imports it but the console script.
"""
