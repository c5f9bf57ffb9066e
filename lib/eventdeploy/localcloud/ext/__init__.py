"""Local-cloud extensions: each module here is installed into the server process (see ``extensions.py``)."""
