"""Typed stack configuration: units, image references, services, hosts and stacks; pure code, no resources."""
