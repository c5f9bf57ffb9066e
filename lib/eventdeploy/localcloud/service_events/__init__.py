"""AWS service events (ECR, CloudFormation, AWS Config) on the account's default bus, as AWS emits them.

Modules: ``emitter`` (one safe call into ``events.emit``), ``ecr_events`` (ECR Image Action),
``cfn_*`` (CloudFormation stack lifecycle with real failures, rollbacks and status-change events),
``config_*`` (AWS Config evaluations, compliance queries and Config Rules Compliance Change events).
The hook that wires them into the server is ``eventdeploy.localcloud.ext.service_events``.
"""
