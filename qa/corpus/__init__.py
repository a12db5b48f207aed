"""Finding and reading document files, and cutting them into chunks with exact offsets.

Imports only qa's base modules (settings, errors, models, text helpers).
"""
