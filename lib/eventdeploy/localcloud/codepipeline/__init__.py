"""CodePipeline executions that really run their stages and actions, with AWS's state records and events."""
