"""Suffixes of every resource the runbooks create (full name: ``<prefix>-<suffix>``)."""

BUS = "deployments"
ARCHIVE = "deployments-archive"
TAP = "tap"
TAP_DLQ = "tap-dlq"
FORWARD_RULE = "forward-service-events"
FORWARD_ROLE = "events-forward-role"
LEDGER = "ledger"
IDEMPOTENCY = "idempotency"
LAMBDA_FAILURES = "lambda-failures"
REPOSITORY = "app"
STATE_MACHINE = "deploy"
BUILD = "build"
PIPELINE = "pipeline"
ARTIFACTS = "artifacts"
APP_STACK = "app-stack"
HEALTH_ALARM = "health"
FAILING_STACK = "broken-stack"

# Rule suffix per pattern name (patterns.catalogue), and the handler each one invokes (03).
RULES = {
    "ecr-image-pushed": "rule-ecr-image-pushed",
    "stack-failed": "rule-stack-failed",
    "config-noncompliant": "rule-config-noncompliant",
    "pipeline-failed": "rule-pipeline-failed",
    "execution-failed": "rule-execution-failed",
    "rollback-requested": "rule-rollback-requested",
}
HANDLERS = {
    "image-pushed": ("handlers.image_pushed.handler", "ecr-image-pushed"),
    "stack-failed": ("handlers.stack_failed.handler", "stack-failed"),
    "compliance-changed": ("handlers.compliance_changed.handler", "config-noncompliant"),
}
STEP_FUNCTIONS = {
    "deploy-validate": "handlers.deploy_steps.validate",
    "deploy-verify": "handlers.deploy_steps.verify",
}
# Sources the default bus forwards to the deployments bus: where AWS services put their events.
FORWARDED_SOURCES = ["aws.cloudformation", "aws.codebuild", "aws.codepipeline", "aws.config", "aws.ecr", "aws.states"]

# 05: a tap for the status events of the whole chain (ECR, Lambda's state machine, CodeBuild, CodePipeline).
CHAIN_RULE = "rule-chain-tap"
CHAIN_TAP = "chain-tap"
CHAIN_SOURCES = ["aws.ecr", "aws.states", "aws.codebuild", "aws.codepipeline", "aws.cloudformation"]
