"""EventBridge in the local cloud: pattern matching, delivery, archives, bus policies."""
