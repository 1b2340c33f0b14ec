"""Post-purchase "next order" vouchers and win-back mails."""
