"""Billing service of the suite: Annex 1 (per-capita shares, Art. 4), the annual titles
(*titres de recette*), credit notes and corrections (Art. 5), extra work with VAT (Art. 6).
Chorus Pro transmission, contestation and payment are still to come."""
