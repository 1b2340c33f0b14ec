"""Retain: the customer profile (birthday, marketing consent, language), birthday, post-purchase and win-back."""
