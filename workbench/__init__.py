"""Workbench: a Jupyter-first workbench for AI infrastructure."""
