"""Metrics configs name: PCK normalised by the torso, its joints found by name (LSP); and the
test loop's steps over batches of one's own (:func:`evaluate_batches`)."""
from .test_steps import evaluate_batches
from .torso_pck import TorsoPCKAccuracy, correct_keypoints

__all__ = ['TorsoPCKAccuracy', 'correct_keypoints', 'evaluate_batches']
