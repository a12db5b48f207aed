"""The language model: llama.cpp in-process with the packaged model files, models behind
a server, and prompts read ahead.

Imports only the base.
"""
