"""Pulumi ComponentResources, one per file, each with its own Args model beside it."""
