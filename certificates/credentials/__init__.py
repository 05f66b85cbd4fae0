"""Open Badges 3.0 credentials: JSON-LD, signing, status lists and verification codes.

Pure code on plain data: no database, no request. Models, views and the CLI use it.
"""
