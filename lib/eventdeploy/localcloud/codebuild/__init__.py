"""CodeBuild builds that really run: buildspec phases as host shell commands, with AWS's phases, logs and events."""
