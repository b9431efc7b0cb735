"""Metrics configs name: PCK normalised by the torso, its joints found by name (LSP)."""
from .torso_pck import TorsoPCKAccuracy, correct_keypoints

__all__ = ['TorsoPCKAccuracy', 'correct_keypoints']
