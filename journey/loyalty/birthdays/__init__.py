"""Birthday rewards: a personal voucher and a mail on (or before) each customer's birthday, once a year."""
