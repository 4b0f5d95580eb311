"""Online services to citizens (Art. 1, second application): the tele-service catalogue, each
commune's forms and branding, custom forms, citizens' requests and their processing."""
