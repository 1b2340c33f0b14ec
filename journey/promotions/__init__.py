"""Discounts and promotions: campaign links, discount codes, quantity tiers — all on Oscar's own offer engine."""
