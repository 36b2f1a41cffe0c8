"""Toy model families that exercise the engine contract in tests."""
