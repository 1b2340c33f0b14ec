"""Campaign discounts (tool ``campaigns``, phase Attract): links, shared and unique codes, landings, numbers."""
