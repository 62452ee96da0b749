"""Pytest root configuration: its presence puts the project root on sys.path."""
