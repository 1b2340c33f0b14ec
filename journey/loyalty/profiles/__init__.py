"""The customer profile: birthday, marketing consent and preferred language (model, service, account page, admin,
CSV import), and whether a Retain program may mail a customer."""
