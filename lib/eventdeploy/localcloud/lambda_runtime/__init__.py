"""The local cloud's Lambda runtime: real Python handler code in warm worker processes, without Docker.

Each worker is ``python -m awslambdaric <handler>`` (the AWS Lambda Runtime Interface Client) talking to a Runtime
API server of its own (``runtime_api``), so handlers see exactly the event, context, environment and error shapes
that Lambda's managed Python runtime gives them.
"""
