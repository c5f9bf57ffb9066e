"""Step Functions in the local cloud: moto's ASL interpreter made to behave as AWS documents.

Each module patches one concern (service clients per account, Lambda error names, emulated waits,
execution API shapes, CodeBuild ``.sync``, status-change events); ``ext/stepfunctions.py`` installs them.
"""
