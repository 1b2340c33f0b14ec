default_app_config = 'tests.minimal_shop.basket.apps.BasketConfig'
