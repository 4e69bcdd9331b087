"""tokenfall: the measured cost of a token, and how cheap it can get at the quality you need.

Importing this package is cheap on purpose: engines that need torch or llama.cpp are
reached through :mod:`tokenfall.registry` and imported only when used.
"""

__version__ = "0.2.0"
