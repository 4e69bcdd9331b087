"""Levers that turn one model artifact into a cheaper one (a new GGUF file)."""
