"""Filling a template: static answers, planning, evidence, model calls, verification, outputs."""
