"""Lambda handlers, deployed as one zip (package ``handlers``): they import only boto3, Powertools and each other."""
