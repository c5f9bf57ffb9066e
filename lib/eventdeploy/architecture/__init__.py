"""The architecture, one module per runbook: each step a notebook takes is one function here.

``names`` holds every resource's suffix (the name is ``<prefix>-<suffix>``), so all modules agree on them.
"""
