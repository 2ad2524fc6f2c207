"""Telegram: reading Desktop exports and `doppel fetch` files, and fetching history with Telethon."""
