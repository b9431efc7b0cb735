"""Datasets: synthetic people rendered in MPII's layout, for runs without the real download."""
from .synthetic_mpii import is_complete, render_dataset

__all__ = ['render_dataset', 'is_complete']
