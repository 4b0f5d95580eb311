"""Citizen participation (Art. 1, fifth application): participatory processes in phases,
proposals, comments and moderation, votes, ballots and signatures counted once, and results
published to open data."""
