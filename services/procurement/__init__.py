"""Public procurement (Art. 1, third application): a buyer profile per partner, consultations
and their files, companies' withdrawals, questions and sealed bids, the opening after the
deadline, and awards published as contract data (DECP)."""
