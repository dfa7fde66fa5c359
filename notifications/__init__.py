"""E-mail to people: messages rendered from templates into an outbox, sent by a job over SMTP."""
