"""Quantity promotions (tool ``quantity``, phases Convince and Sell): tiers and "buy X, pay Y", with upsell hints."""
