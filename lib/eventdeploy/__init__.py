"""eventdeploy: runbooks and a library that build and prove an event-driven deployment architecture on AWS."""

__version__ = "0.1.0"
